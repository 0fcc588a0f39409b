"""The clock authority over real TCP: actors sleep on model time and wake in model order at once in real time;
bad lines get an error naming what was wrong; a vanished actor never holds time back."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from harness.clock.actor import Actor, ClockCancelled, ClockUnavailable, NoActor, bound
from harness.clock.authority import Authority
from harness.clock.model_clock import ModelClock, VirtualTime
from harness.clock.shared import SharedTime
from harness.model.units import Scale


@pytest.fixture
def authority(tmp_path: Path) -> Iterator[Authority]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    running = Authority(listener, tmp_path / "model-time").start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def clock(authority: Authority, tmp_path: Path) -> ModelClock:
    return ModelClock.starting_now(Scale(5000), VirtualTime(tmp_path / "model-time", authority.address))


def _raw(authority: Authority) -> tuple[socket.socket, BinaryIO]:
    host, port = authority.address.split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    return sock, sock.makefile("rwb")


def _ask(stream: BinaryIO, message: object) -> dict[str, object]:
    stream.write(json.dumps(message).encode() + b"\n")
    stream.flush()
    reply: dict[str, object] = json.loads(stream.readline())
    return reply


def test_two_runs_sleep_hours_of_model_time_in_milliseconds_and_wake_in_model_order(clock: ModelClock) -> None:
    woke: list[tuple[str, float]] = []

    def run(name: str, naps: list[float]) -> None:
        with clock.join(name) as actor, bound(actor):
            for nap in naps:
                clock.sleep(nap)
                woke.append((name, clock.seconds()))

    started = time.perf_counter()
    with clock.join("scenario") as scenario:
        threads = [threading.Thread(daemon=True, target=run, args=("b", [7200.0, 60.0])),
                   threading.Thread(daemon=True, target=run, args=("a", [3600.0, 3600.0]))]
        for thread in threads:
            thread.start()
        time.sleep(0.05)  # both runs are up and asleep, yet time has not moved: the scenario is busy
        assert clock.seconds() == 0.0
        with scenario.waiting():
            for thread in threads:
                thread.join(5)
    assert woke == [("a", 3600.0), ("a", 7200.0), ("b", 7200.0), ("b", 7260.0)]  # the tie goes by name
    assert time.perf_counter() - started < 2.0  # 2 model hours; generous for a loaded machine


def test_time_is_published_before_the_sleeper_hears_of_it(clock: ModelClock, tmp_path: Path) -> None:
    shared = SharedTime(tmp_path / "model-time")
    with clock.join("run") as actor:
        actor.sleep(1.5)
        assert shared.read() == 1_500_000 == actor.now_us


def test_a_thread_without_an_actor_is_told_so(clock: ModelClock) -> None:
    with pytest.raises(ClockUnavailable, match="acts for no actor"):
        clock.sleep(1.0)


@pytest.mark.parametrize(("line", "error"), [
    (b"not json\n", "one line of JSON"),
    (b"[1, 2]\n", "JSON object"),
    (b'{"op": "sleep", "seconds": 1}\n', "join first"),
    (b'{"op": "join"}\n', "'actor' must be"),
])
def test_bad_lines_are_answered_with_what_was_wrong(authority: Authority, line: bytes, error: str) -> None:
    sock, stream = _raw(authority)
    with sock:
        stream.write(line)
        stream.flush()
        reply = json.loads(stream.readline())
        assert "error" in reply and error in reply["error"]
        assert "now_us" in _ask(stream, {"op": "join", "actor": "after-a-bad-line"})  # the connection stays


@pytest.mark.parametrize("seconds", [-1, "ten", None, True, float("inf")])
def test_a_sleep_must_be_a_finite_number_of_seconds(authority: Authority, seconds: object) -> None:
    sock, stream = _raw(authority)
    with sock:
        _ask(stream, {"op": "join", "actor": "run"})
        reply = _ask(stream, {"op": "sleep", "seconds": seconds})
        assert "model seconds" in str(reply["error"])


def test_an_actor_whose_connection_drops_no_longer_holds_time_back(authority: Authority,
                                                                    clock: ModelClock) -> None:
    sock, stream = _raw(authority)
    _ask(stream, {"op": "join", "actor": "crashed"})  # busy, then gone without a word
    with clock.join("run") as actor:
        done = threading.Thread(daemon=True, target=actor.sleep, args=(60.0,))
        done.start()
        time.sleep(0.05)
        assert clock.seconds() == 0.0
        stream.close()
        sock.close()
        done.join(5)
        assert not done.is_alive() and clock.seconds() == 60.0


def _sleeping(actor: Actor | NoActor) -> tuple[threading.Thread, list[BaseException]]:
    """`actor` asleep for a model minute in a thread of its own (the scenario keeps time still meanwhile)."""
    errors: list[BaseException] = []

    def sleep() -> None:
        try:
            actor.sleep(60.0)
        except ClockCancelled as error:
            errors.append(error)
    thread = threading.Thread(daemon=True, target=sleep)
    thread.start()
    time.sleep(0.05)
    return thread, errors


def test_reset_cancels_a_sleep_and_goes_back_to_the_epoch(authority: Authority, clock: ModelClock) -> None:
    with clock.join("scenario"), clock.join("run") as actor:
        thread, errors = _sleeping(actor)
        assert authority.reset() == ["run"]
        thread.join(5)
    assert len(errors) == 1 and clock.seconds() == 0.0


def test_cancel_from_another_thread_ends_a_sleep(clock: ModelClock) -> None:
    with clock.join("scenario"), clock.join("run") as actor:
        thread, errors = _sleeping(actor)
        actor.cancel()
        thread.join(5)
        assert len(errors) == 1


def test_advance_by_hand_moves_an_idle_world(authority: Authority, clock: ModelClock) -> None:
    assert authority.advance(600.0)["now_us"] == 600_000_000
    assert clock.seconds() == 600.0
    assert clock.now().isoformat() == "2026-11-02T08:10:00+00:00"


def test_runs_started_at_one_instant_take_their_turns_by_name(clock: ModelClock) -> None:
    order: list[str] = []
    with clock.join("scenario") as scenario:
        actors = [clock.join(name, queued=True) for name in ("client/PC2/run/1", "client/PC1/run/1")]

        def run(actor: Actor) -> None:
            with actor:
                actor.turn()
                order.append(actor.name)
                time.sleep(0.02)  # busy: the other run may not start meanwhile
                order.append(actor.name)

        threads = [threading.Thread(daemon=True, target=run, args=(actor,)) for actor in actors]
        for thread in threads:
            thread.start()
        time.sleep(0.05)
        assert order == []  # the scenario is busy setting up
        with scenario.waiting():
            for thread in threads:
                thread.join(5)
    assert order == ["client/PC1/run/1"] * 2 + ["client/PC2/run/1"] * 2

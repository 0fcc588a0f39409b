"""An actor's side of the virtual clock: one TCP connection to the authority, one line of JSON each way.

A run's thread joins as an actor when the run is created (busy), sleeps on model time through `sleep`, and
leaves when it ends; the scenario joins too, and goes idle while it waits for runs to end. The connection is
the membership: if a process dies, the authority drops its actors and time does not wait for them.

`bound(actor)` makes an actor the current thread's, so code deep in a run (a retry delay, a client's link)
sleeps as that run without passing it around.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

CONNECT_TIMEOUT_SECONDS = 10.0
_current = threading.local()


class ClockCancelled(Exception):
    """The wait was cancelled: the environment was reset, or the run was stopped."""


class ClockUnavailable(RuntimeError):
    """The authority cannot be reached, or this thread has no actor to wait as."""


class Actor:
    """One actor's membership; its methods are called from one thread (`cancel` from any)."""

    def __init__(self, address: str, name: str, *, queued: bool = False, settles: bool = False) -> None:
        """`queued`: join asleep until now and wait for the turn (`turn()`) before acting; `settles`: this process
        reports to the authority whether the actor is really busy (the client agent does, for its runs)."""
        self.name = name
        self.release = 0  # wake-ups the authority has released to this actor; reported with its waits on I/O
        host, _, port = address.rpartition(":")
        try:
            self._sock = socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_SECONDS)
        except OSError as error:
            raise ClockUnavailable(f"the clock authority at {address} cannot be reached: {error}") from None
        self._sock.settimeout(None)  # a virtual wait lasts as long as other actors are busy, in real time
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader = self._sock.makefile("rb")
        self._cancelled = False
        self.now_us = int(self._call({"op": "join", "actor": name, "queued": queued, "settles": settles})["now_us"])

    def turn(self) -> None:
        """Waits until it is this (queued) actor's turn; returns at once for an actor that is busy."""
        self._woke(self._call({"op": "turn"}))

    def sleep(self, model_seconds: float) -> None:
        """Waits until the clock reaches now + `model_seconds`; raises ClockCancelled if cancelled first."""
        self._woke(self._call({"op": "sleep", "seconds": model_seconds}))

    def _woke(self, reply: dict[str, Any]) -> None:
        self.now_us, self.release = int(reply["now_us"]), int(reply["release"])

    def idle(self) -> None:
        """Time may move without this actor (it waits for something outside the emulated world)."""
        self._call({"op": "idle"})

    def resume(self) -> None:
        """Busy again: time stands still until this actor sleeps, idles or leaves."""
        self.now_us = int(self._call({"op": "resume"})["now_us"])

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        """Idle for the block (the scenario polling for a run's end), busy again after it."""
        self.idle()
        try:
            yield
        finally:
            self.resume()

    def cancel(self) -> None:
        """From any thread: a sleep under way (or the next one) raises ClockCancelled."""
        self._cancelled = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Leaves the clock (closing the connection is leaving)."""
        with contextlib.suppress(OSError):
            self._reader.close()
            self._sock.close()

    def __enter__(self) -> Actor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, message: dict[str, Any]) -> dict[str, Any]:
        if self._cancelled:
            raise ClockCancelled(f"{self.name}: cancelled")
        try:
            self._sock.sendall(json.dumps(message).encode() + b"\n")
            line = self._reader.readline()
        except OSError as error:
            if self._cancelled:
                raise ClockCancelled(f"{self.name}: cancelled") from None
            raise ClockUnavailable(f"{self.name}: the clock authority went away: {error}") from None
        if not line:
            if self._cancelled:
                raise ClockCancelled(f"{self.name}: cancelled")
            raise ClockUnavailable(f"{self.name}: the clock authority closed the connection")
        reply: dict[str, Any] = json.loads(line)
        if reply.get("cancelled"):
            self._cancelled = True
            raise ClockCancelled(f"{self.name}: the clock was reset")
        if "error" in reply:
            raise ClockUnavailable(f"{self.name}: {reply['error']}")
        return reply


class NoActor:
    """The real clock's stand-in: nothing to join, nothing to wait for."""

    name = ""

    def turn(self) -> None:
        pass

    def sleep(self, model_seconds: float) -> None:
        raise ClockUnavailable("the real clock has no actors; sleep through ModelClock.sleep")

    def idle(self) -> None:
        pass

    def resume(self) -> None:
        pass

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        yield

    def cancel(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> NoActor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


@contextlib.contextmanager
def bound(actor: Actor | NoActor) -> Iterator[Actor | NoActor]:
    """`actor` is this thread's for the block: `current()` returns it."""
    previous = getattr(_current, "actor", None)
    _current.actor = actor
    try:
        yield actor
    finally:
        _current.actor = previous


def current_or_none() -> Actor | NoActor | None:
    actor: Actor | NoActor | None = getattr(_current, "actor", None)
    return actor


def current() -> Actor | NoActor:
    actor = current_or_none()
    if actor is None:
        raise ClockUnavailable(f"thread {threading.current_thread().name!r} waits on the virtual clock but acts "
                               "for no actor (a run's thread binds its actor with harness.clock.actor.bound)")
    return actor


async def hold(address: str, name: str, model_seconds: float, woke: Callable[[], None]) -> None:
    """From an event loop: waits `model_seconds` of model time as a one-off actor that settles (a service holding
    a request on the clock); raises ClockCancelled if the clock is reset meanwhile. `woke()` is called as soon as
    the wait is over, before the actor leaves: whatever the holder does next must count as busy before the
    authority stops counting the holder."""
    host, _, port = address.rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        for message in ({"op": "join", "actor": name, "settles": True}, {"op": "sleep", "seconds": model_seconds}):
            writer.write(json.dumps(message).encode() + b"\n")
            await writer.drain()
            reply = json.loads(await reader.readline() or b'{"error": "the clock authority went away"}')
            if reply.get("cancelled"):
                raise ClockCancelled(f"{name}: the clock was reset")
            if "error" in reply:
                raise ClockUnavailable(f"{name}: {reply['error']}")
        woke()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

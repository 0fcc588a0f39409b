"""The clock authority: one per environment, in the network process, on a TCP port of its own.

Actors connect and speak one line of JSON per request (`actor.py` is the other side):

    {"op": "join", "actor": NAME}      -> {"now_us": N}        busy from now on
    {"op": "join", "actor": NAME, "queued": true}             asleep until now: it waits for its turn
    {"op": "join", ..., "settles": true}                       its process reports whether it is really busy
    {"op": "turn"}                     -> {"now_us": N, "release": R}   once a queued actor's turn has come
    {"op": "sleep", "seconds": S}      -> {"now_us": N, "release": R}   once the clock has reached the wake-up
    {"op": "idle"}                     -> {"now_us": N}        time may move without this actor
    {"op": "resume"}                   -> {"now_us": N}        busy again
    (closing the connection)                                  leaves

Processes of the world join as participants, `{"op": "participant", "party": NAME}`; the authority then asks
`{"op": "report", "id": K}` and they answer `{"id": K, "report": …}` (`settle.Report`). The network process's
own parties (the fault proxies) report in process, and its proxies hold calls through `hold()`.

A bad line is answered `{"error": …}` naming what was wrong; the connection stays. A reset answers every sleeper
`{"cancelled": true}`.

After every change the authority releases the next wake-up if nobody is busy (`Schedule.release`). If only
actors that settle are busy (a run in an HTTP call, a proxy holding bytes back), it asks every participant for a
report and releases only if the world is quiet (`settle.unquiet`) and nothing changed meanwhile; otherwise it
asks again after the next change, or after a short real-time back-off (a service finishing a request tells
nobody). It writes the new time to the shared file first, and only then answers the sleeper: a process that
sees the answer's effects sees the new time. The authority runs its own event loop in a thread, so a busy
control API never delays it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import math
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from harness.clock.loops import run_loop
from harness.clock.remote import RemoteParticipant
from harness.clock.schedule import ClockError, Schedule
from harness.clock.settle import Report, same_picture, unquiet
from harness.clock.shared import SharedTime

CONTROL_TIMEOUT_SECONDS = 10.0
MAX_LINE = 1 << 20  # a report lists every socket of a process
# After a settle that found the world busy, ask again after this long, doubling up to the maximum; any change
# at the authority asks again at once. Only how soon time moves depends on these, never where it moves to.
SETTLE_BACKOFF_SECONDS = (0.0002, 0.005)
T = TypeVar("T")
_log = logging.getLogger(__name__)


class Authority:
    """Serves actors on `listener` (a bound socket) and publishes model time in `state_path`."""

    def __init__(self, listener: socket.socket, state_path: Path) -> None:
        self._listener = listener
        self._shared = SharedTime(state_path, create=True)
        self._shared.write(0)
        self.schedule = Schedule()
        self._waiters: dict[str, asyncio.Future[int]] = {}
        self._sessions: set[asyncio.Task[None]] = set()
        self._participants: dict[str, RemoteParticipant] = {}
        self._reporters: dict[str, Callable[[], Report]] = {}
        self._settler: asyncio.Task[None] | None = None
        self._poke = asyncio.Event()
        self.last_unquiet: list[str] = []  # why the last settle found the world busy (GET /_harness/clock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"{host}:{port}"

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> Authority:
        loop = asyncio.new_event_loop()
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, args=(loop, ready), name="clock-authority", daemon=True)
        self._thread.start()
        ready.result(CONTROL_TIMEOUT_SECONDS)
        self._loop = loop
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(CONTROL_TIMEOUT_SECONDS)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(CONTROL_TIMEOUT_SECONDS)
        self._loop = self._thread = None
        self._shared.close()

    def _run(self, loop: asyncio.AbstractEventLoop, ready: concurrent.futures.Future[None]) -> None:
        def serve() -> None:
            self._listener.setblocking(False)
            self._server = loop.run_until_complete(asyncio.start_server(self._serve, sock=self._listener,
                                                                        limit=MAX_LINE))
        run_loop(loop, ready, serve)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [*self._sessions, *([self._settler] if self._settler else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- control, from any thread ------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return self._control(lambda: {**self.schedule.snapshot(), "participants": sorted(
            [*self._participants, *self._reporters]), "last_unquiet": self.last_unquiet[:20]})

    def advance(self, model_seconds: float) -> dict[str, Any]:
        """Moves time on by hand; wake-ups on the way are released in order, each once nobody is busy."""
        def advance() -> dict[str, Any]:
            self.schedule.advance(_microseconds(model_seconds))
            self._pump()
            return self.schedule.snapshot()
        return self._control(advance)

    def reset(self) -> list[str]:
        """Back to the epoch; every sleeper is told its wait was cancelled."""
        def reset() -> list[str]:
            cancelled = self.schedule.reset()
            for name in cancelled:
                waiter = self._waiters.pop(name, None)
                if waiter is not None and not waiter.done():
                    waiter.set_exception(_Cancelled())
            self._shared.write(self.schedule.now)
            return cancelled
        return self._control(reset)

    def add_reporter(self, party: str, report: Callable[[], Report]) -> None:
        """A party of this process; `report` is called in a worker thread whenever the authority settles."""
        self._control(lambda: self._reporters.__setitem__(party, report))

    async def hold(self, actor: str, model_seconds: float, *, until_us: int | None = None) -> int:
        """From another thread's event loop in this process: waits `model_seconds` of model time as `actor` (which
        joins, settling, if it has not), or until the model instant `until_us` (never earlier than now); returns
        the wake-ups released to it so far. Raises ClockCancelled if the clock is reset meanwhile. The actor stays
        joined, busy, until `leave()`."""
        from harness.clock.actor import ClockCancelled

        loop = self._loop
        if loop is None:
            raise RuntimeError("the clock authority is not running")
        future = asyncio.run_coroutine_threadsafe(self._hold(actor, model_seconds, until_us), loop)
        try:
            return await asyncio.wrap_future(future)
        except _Cancelled:
            raise ClockCancelled(f"{actor}: the clock was reset") from None

    def leave(self, actor: str) -> None:
        """From any thread: `actor` (a holder) is gone."""
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._leave, actor)

    def _control(self, action: Callable[[], T]) -> T:
        loop = self._loop
        if loop is None:
            raise RuntimeError("the clock authority is not running")

        async def call() -> T:
            return action()
        return asyncio.run_coroutine_threadsafe(call(), loop).result(CONTROL_TIMEOUT_SECONDS)

    # -- actors and participants, on the authority's loop ------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = asyncio.current_task()
        assert session is not None
        self._sessions.add(session)
        name: str | None = None
        try:
            while line := await reader.readline():
                if name is None and _op(line) == "participant":
                    await self._participate(line, reader, writer)
                    return
                reply, name = await self._answer(line, name)
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, ValueError, asyncio.LimitOverrunError):
            pass  # a line too long or a peer gone: the actor leaves below
        finally:
            self._sessions.discard(session)
            if name is not None:
                self._leave(name)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _answer(self, line: bytes, name: str | None) -> tuple[dict[str, Any], str | None]:
        try:
            try:
                message = json.loads(line)
            except ValueError as error:
                raise ValueError(f"a request is one line of JSON; this one is not: {error}") from None
            if not isinstance(message, dict):
                raise ValueError("a request is a JSON object such as {\"op\": \"sleep\", \"seconds\": 240}")
            op = message.get("op")
            if op == "join":
                return self._join(message, name), _actor_name(message)
            if name is None:
                raise ValueError(f"join first: {{\"op\": \"join\", \"actor\": NAME}}, not {op!r}")
            if op == "sleep":
                return await self._sleep(name, message), name
            if op == "turn":
                return await self._turn(name), name
            if op == "idle":
                self.schedule.idle(name)
            elif op == "resume":
                self.schedule.resume(name)
            else:
                raise ValueError(f"unknown op {op!r}; expected join, turn, sleep, idle or resume")
            self._pump()
            return {"now_us": self.schedule.now}, name
        except _Cancelled:
            return {"cancelled": True}, None
        except (ValueError, ClockError) as error:
            return {"error": str(error)}, name

    def _join(self, message: dict[str, Any], name: str | None) -> dict[str, Any]:
        if name is not None:
            raise ValueError(f"this connection is actor {name!r} already; open another for another actor")
        actor = _actor_name(message)
        queued, settles = message.get("queued", False) is True, message.get("settles", False) is True
        self.schedule.join(actor, queued=queued, settles=settles)
        if queued:
            self._waiters[actor] = asyncio.get_running_loop().create_future()
        self._pump()
        return {"now_us": self.schedule.now}

    async def _turn(self, name: str) -> dict[str, Any]:
        waiter = self._waiters.get(name)
        if waiter is None:  # its turn came before it asked (or it joined busy)
            self.schedule.resume(name)
            return {"now_us": self.schedule.now, "release": self.schedule.releases(name)}
        return {"now_us": await waiter, "release": self.schedule.releases(name)}

    async def _sleep(self, name: str, message: dict[str, Any]) -> dict[str, Any]:
        seconds = message.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds) \
                or seconds < 0:
            raise ValueError(f"'seconds' must be a finite number of model seconds, 0 or more, not {seconds!r}")
        return {"now_us": await self._wait(name, seconds), "release": self.schedule.releases(name)}

    async def _hold(self, name: str, seconds: float, until_us: int | None) -> int:
        if not self._known(name):
            self.schedule.join(name, settles=True)
        await self._wait(name, seconds, until_us)
        return self.schedule.releases(name)

    async def _wait(self, name: str, seconds: float, until_us: int | None = None) -> int:
        self.schedule.sleep(name, self.schedule.now + _microseconds(seconds) if until_us is None else until_us)
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters[name] = waiter
        self._pump()
        return await waiter

    def _known(self, name: str) -> bool:
        try:
            self.schedule.state(name)
        except ClockError:
            return False
        return True

    def _leave(self, name: str) -> None:
        waiter = self._waiters.pop(name, None)
        if waiter is not None:
            waiter.cancel()
        self.schedule.leave(name)
        self._pump()

    async def _participate(self, first: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        message = json.loads(first)
        party = str(message.get("party") or "")
        if not party:
            writer.write(json.dumps({"error": "a participant names its party: "
                                               '{"op": "participant", "party": NAME}'}).encode() + b"\n")
            return
        participant = self._participants[party] = RemoteParticipant(party, writer)
        writer.write(b'{"ok": true}\n')
        try:
            while line := await reader.readline():
                participant.answered(json.loads(line))
        finally:
            participant.gone()
            if self._participants.get(party) is participant:
                del self._participants[party]

    # -- moving time ---------------------------------------------------------------------------------------------

    def _pump(self) -> None:
        """Releases the next wake-up if nobody is busy; asks the world whether it is quiet if only actors that
        settle are."""
        if self._release(settled=False):
            return
        self._poke.set()
        if self.schedule.to_settle() is not None and (self._settler is None or self._settler.done()):
            self._settler = asyncio.get_running_loop().create_task(self._settle())

    def _release(self, *, settled: bool) -> bool:
        before = self.schedule.now
        woken = self.schedule.release(settled=settled)
        if self.schedule.now != before:
            self._shared.write(self.schedule.now)  # published before anyone hears of it
        if woken is None:
            return False
        waiter = self._waiters.pop(woken, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(self.schedule.now)
        return True

    async def _settle(self) -> None:
        try:
            await self._settle_until_busy()
        except Exception as error:  # a bug here must show, not freeze model time in silence
            _log.exception("the clock authority failed to settle")
            self.last_unquiet = [f"settling failed: {error!r}"]

    async def _settle_until_busy(self) -> None:
        backoff = SETTLE_BACKOFF_SECONDS[0]
        while (busy := self.schedule.to_settle()) is not None:
            version = self.schedule.version
            self._poke.clear()
            reports = await self._reports()
            reasons = unquiet(reports, busy)
            if not reasons:
                # Twice, and the same both times: a party may have reported before a connection it was about to
                # receive existed, and the other end after it was done with it. Nothing that moved between the two
                # waves can look the same in both.
                again = await self._reports()
                moved = [] if same_picture(reports, again) else ["the world moved between two reports"]
                reasons = unquiet(again, busy) or moved
            if self.schedule.version != version:
                continue  # something changed while the reports came in: they may be stale
            if not reasons:
                self.last_unquiet = []
                self._release(settled=True)
                backoff = SETTLE_BACKOFF_SECONDS[0]
                continue
            self.last_unquiet = reasons
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), backoff)
            backoff = min(backoff * 2, SETTLE_BACKOFF_SECONDS[1])

    async def _reports(self) -> list[Report]:
        loop = asyncio.get_running_loop()
        local = [loop.run_in_executor(None, report) for report in self._reporters.values()]
        remote = [participant.report() for participant in self._participants.values()]
        answers = await asyncio.gather(*local, *remote, return_exceptions=True)
        parties = [*self._reporters, *self._participants]
        return [answer if isinstance(answer, Report) else Report(party, busy=[f"no report: {answer!r}"])
                for party, answer in zip(parties, answers, strict=True)]


class _Cancelled(Exception):
    pass


def _op(line: bytes) -> object:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message.get("op") if isinstance(message, dict) else None


def _actor_name(message: dict[str, Any]) -> str:
    name = message.get("actor")
    if not isinstance(name, str) or not name or len(name) > 200:
        raise ValueError(f"'actor' must be a non-empty name of at most 200 characters, not {name!r}")
    return name


def _microseconds(model_seconds: float) -> int:
    return round(model_seconds * 1_000_000)

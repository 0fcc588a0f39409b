"""The clock authority: one per environment, in the network process, on a TCP port of its own.

Actors connect and speak one line of JSON per request (`actor.py` is the other side):

    {"op": "join", "actor": NAME}      -> {"now_us": N}        busy from now on
    {"op": "join", "actor": NAME, "queued": true}             asleep until now: it waits for its turn
    {"op": "turn"}                     -> {"now_us": N}        once a queued actor's turn has come
    {"op": "sleep", "seconds": S}      -> {"now_us": N}        once the clock has reached the wake-up
    {"op": "idle"}                     -> {"now_us": N}        time may move without this actor
    {"op": "resume"}                   -> {"now_us": N}        busy again
    (closing the connection)                                  leaves

A bad line is answered `{"error": …}` naming what was wrong; the connection stays. A reset answers every sleeper
`{"cancelled": true}`.

After every change the authority releases the next wake-up if nobody is busy (`Schedule.release`), writes the new
time to the shared file first, and only then answers the sleeper: a process that sees the answer's effects sees
the new time. The authority runs its own event loop in a thread, so a busy control API never delays it.
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

from harness.clock.schedule import ClockError, Schedule
from harness.clock.shared import SharedTime

CONTROL_TIMEOUT_SECONDS = 10.0
MAX_LINE = 4096
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
        asyncio.set_event_loop(loop)
        try:
            self._listener.setblocking(False)
            self._server = loop.run_until_complete(asyncio.start_server(self._serve, sock=self._listener,
                                                                        limit=MAX_LINE))
        except BaseException as error:
            loop.close()
            ready.set_exception(error)
            return
        ready.set_result(None)
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        sessions = list(self._sessions)
        for session in sessions:
            session.cancel()
        await asyncio.gather(*sessions, return_exceptions=True)

    # -- control, from any thread ------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return self._control(self.schedule.snapshot)

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

    def _control(self, action: Callable[[], T]) -> T:
        loop = self._loop
        if loop is None:
            raise RuntimeError("the clock authority is not running")

        async def call() -> T:
            return action()
        return asyncio.run_coroutine_threadsafe(call(), loop).result(CONTROL_TIMEOUT_SECONDS)

    # -- actors, on the authority's loop -----------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = asyncio.current_task()
        assert session is not None
        self._sessions.add(session)
        name: str | None = None
        try:
            while line := await reader.readline():
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
        actor, queued = _actor_name(message), message.get("queued", False) is True
        self.schedule.join(actor, queued=queued)
        if queued:
            self._waiters[actor] = asyncio.get_running_loop().create_future()
            self._pump()
        return {"now_us": self.schedule.now}

    async def _turn(self, name: str) -> dict[str, Any]:
        waiter = self._waiters.get(name)
        if waiter is None:  # its turn came before it asked (or it joined busy)
            self.schedule.resume(name)
            return {"now_us": self.schedule.now}
        return {"now_us": await waiter}

    async def _sleep(self, name: str, message: dict[str, Any]) -> dict[str, Any]:
        seconds = message.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds) \
                or seconds < 0:
            raise ValueError(f"'seconds' must be a finite number of model seconds, 0 or more, not {seconds!r}")
        self.schedule.sleep(name, self.schedule.now + _microseconds(seconds))
        waiter = self._waiters[name] = asyncio.get_running_loop().create_future()
        self._pump()
        return {"now_us": await waiter}

    def _leave(self, name: str) -> None:
        waiter = self._waiters.pop(name, None)
        if waiter is not None:
            waiter.cancel()
        self.schedule.leave(name)
        self._pump()

    def _pump(self) -> None:
        """Releases the next wake-up if nobody is busy; the time is published before the sleeper hears of it."""
        before = self.schedule.now
        woken = self.schedule.release()
        if self.schedule.now != before:
            self._shared.write(self.schedule.now)
        if woken is None:
            return
        waiter = self._waiters.pop(woken, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(self.schedule.now)


class _Cancelled(Exception):
    pass


def _actor_name(message: dict[str, Any]) -> str:
    name = message.get("actor")
    if not isinstance(name, str) or not name or len(name) > 200:
        raise ValueError(f"'actor' must be a non-empty name of at most 200 characters, not {name!r}")
    return name


def _microseconds(model_seconds: float) -> int:
    return round(model_seconds * 1_000_000)

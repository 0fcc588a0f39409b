"""One connection through the fault proxy: the client's socket and the upstream one, the toxics that hit it, and
its two directions (`direction.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from harness.clock.actor import ClockCancelled
from harness.net.direction import Direction
from harness.net.pacing import ProxyTime
from harness.net.toxics import Toxic

CONNECT_TIMEOUT_SECONDS = 5.0
_log = logging.getLogger("harness.net.proxy")


@dataclass
class Applied:
    """A toxic on one connection: whether its roll hit, and its per-connection state."""

    toxic: Toxic
    hit: bool
    sent: int = 0  # limit_data: bytes let through so far (kept across updates, as Toxiproxy keeps its state)
    timer: asyncio.TimerHandle | asyncio.Task[None] | None = None
    armed: bool = False  # reset_peer: data has arrived and the reset is scheduled

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.armed = False


class Connection:
    """One client connection and its upstream connection, with the toxics that hit it."""

    task: asyncio.Task[None] | None = None

    def __init__(self, client: socket.socket, upstream: tuple[str, int], ordinal: int, rng: random.Random,
                 time: ProxyTime | None = None, name: str = "") -> None:
        self.time = time or ProxyTime()
        self.name = name  # holders at a virtual clock are named after it: proxy/<proxy>/<ordinal>/<what>
        self.directions: list[Direction] = []
        self._client = client
        self._upstream_address = upstream
        self._upstream: socket.socket | None = None
        self.ordinal = ordinal
        self.rng = rng  # jitter and slice sizes
        self._applied: dict[str, Applied] = {}
        self._chains: dict[str, tuple[Applied, ...]] = {"upstream": (), "downstream": ()}
        self._closing = asyncio.Event()
        self._abort = False
        self._finished = 0
        tune(client)

    def chain(self, stream: str) -> tuple[Applied, ...]:
        """The toxics that hit this connection in `stream`, in the order they were added."""
        return self._chains[stream]

    def add(self, toxic: Toxic, hit: bool) -> None:
        applied = Applied(toxic, hit)
        self._applied[toxic.name] = applied
        self._start(applied)
        self._rebuild()

    def update(self, toxic: Toxic, hit: bool) -> None:
        old = self._applied[toxic.name]
        old.cancel()
        new = self._applied[toxic.name] = Applied(toxic, hit, sent=old.sent)
        self._start(new)
        self._rebuild()

    def remove(self, name: str) -> None:
        old = self._applied.pop(name)
        old.cancel()
        self._rebuild()
        if old.hit and old.toxic.type == "timeout":
            self.close()  # Toxiproxy closes too: the stalled data is gone, the stream cannot resume

    def arm_reset(self, applied: Applied) -> None:
        if not applied.armed:
            applied.armed = True
            applied.timer = self._after(applied.toxic, applied.toxic.attributes["timeout"] / 1000, abort=True)

    def _after(self, toxic: Toxic, seconds: float, *, abort: bool) -> asyncio.Task[None]:
        """Closes the connection `seconds` from now on the proxy's clock (a timeout or reset_peer toxic)."""
        holder = f"{self.name}/{toxic.name}"

        async def wait_then_close() -> None:
            try:
                await self.time.sleep(holder, seconds)
                self.close(abort)
            finally:
                self.time.done(holder)
        return asyncio.get_running_loop().create_task(wait_then_close())

    def close(self, abort: bool = False) -> None:
        """Ends the connection: with a TCP RST on both sides if `abort`, else an ordinary close."""
        self._abort = self._abort or abort
        self._closing.set()
        if self._upstream is None and self.task is not None:
            self.task.cancel()  # still connecting upstream

    def direction_finished(self) -> None:
        self._finished += 1
        if self._finished == 2:
            self.close()

    async def run(self) -> None:
        tasks: list[asyncio.Task[None]] = []
        try:
            upstream = self._upstream = await self._connect()
            loop = asyncio.get_running_loop()
            self.directions = [Direction(self, "upstream", self._client, upstream),
                               Direction(self, "downstream", upstream, self._client)]
            for direction in self.directions:
                tasks += [loop.create_task(self._guarded(direction.read)),
                          loop.create_task(self._guarded(direction.write))]
            await self._closing.wait()
        except OSError as error:
            _log.info("upstream %s unreachable: %s", joined(self._upstream_address), error)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def release(self) -> None:
        """Once run() is over (or was cancelled before it began): timers off, both sockets closed."""
        for applied in self._applied.values():
            applied.cancel()
        for direction in self.directions:
            self.time.done(direction.holder)
        for sock in (self._client, self._upstream):
            close_socket(sock, abort=self._abort)

    def upstream_ends(self) -> tuple[str, str] | None:
        """The upstream connection's ends, ("127.0.0.1:PORT", "127.0.0.1:SERVICE_PORT"): the client address the
        service sees, and the service's own."""
        if self._upstream is None or len(self.directions) != 2:
            return None
        with contextlib.suppress(OSError):
            return joined(self._upstream.getsockname()[:2]), joined(self._upstream.getpeername()[:2])
        return None

    def sockets(self) -> list[tuple[socket.socket, bool, bool]]:
        """(socket, read without waiting on the clock, bytes of the proxy's own still to be written to it)."""
        if self._upstream is None or len(self.directions) != 2:
            return []
        upstream, downstream = self.directions
        return [(self._client, upstream.reading, downstream.sending), (self._upstream, downstream.reading,
                                                                        upstream.sending)]

    async def _connect(self) -> socket.socket:
        host, port = self._upstream_address
        upstream = socket.socket(family(host), socket.SOCK_STREAM)
        upstream.setblocking(False)
        try:
            connecting = asyncio.get_running_loop().sock_connect(upstream, (host, port))
            await asyncio.wait_for(connecting, CONNECT_TIMEOUT_SECONDS)
        except BaseException:
            upstream.close()
            raise
        tune(upstream)
        return upstream

    async def _guarded(self, pump: Callable[[], Coroutine[Any, Any, None]]) -> None:
        # Takes the method, not a coroutine: a task cancelled before it starts would leave that one never awaited.
        try:
            await pump()
        except (OSError, ClockCancelled):  # a peer reset or went away, or the clock was reset: abort both sides
            self.close(abort=True)
        except Exception:
            _log.exception("proxy connection failed")
            self.close(abort=True)

    def _start(self, applied: Applied) -> None:
        milliseconds = applied.toxic.attributes.get("timeout", 0)
        if applied.hit and applied.toxic.type == "timeout" and milliseconds > 0:
            applied.timer = self._after(applied.toxic, milliseconds / 1000, abort=False)

    def _rebuild(self) -> None:
        for stream in self._chains:
            self._chains[stream] = tuple(a for a in self._applied.values() if a.hit and a.toxic.stream == stream)


def tune(sock: socket.socket) -> None:
    # Nagle would hold back small writes and add its own latency to every toxic's timing.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def close_socket(sock: socket.socket | None, *, abort: bool) -> None:
    if sock is None:
        return
    if abort:  # linger 0: close sends RST and drops unsent data
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def joined(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

"""FaultProxy: a TCP proxy on loopback with Toxiproxy's toxics, for network-level faults in front of one service.

The kernel here has no netem, so latency, bandwidth, stalls, resets and cut-offs come from this proxy. It keeps
Toxiproxy's model and JSON (`to_json`, `harness.net.toxics.Toxic`), so a real Toxiproxy can stand in for it.

The proxy runs its own event loop in a background thread (`start`/`stop`). Control methods are called from other
threads and return once the change is in force: bytes the proxy reads after `add_toxic` returns see the toxic,
on live connections too. Toxics act at chunk boundaries (a read of up to 256 KiB), as Toxiproxy's do.

Where it differs from Toxiproxy, on purpose:
- latency is a delay line: the proxy keeps reading while chunks wait, so a link with latency still carries its
  bandwidth (holding its rate × latency in flight, up to `MAX_IN_FLIGHT` bytes per direction);
- bandwidth is paced against the clock (a link's serialisation delay), not by sleeping per chunk, so it holds
  its rate to well under 1 % from 8 Mbit/s to 1 Gbit/s (benchmarks/proxy.py);
- reset_peer always ends in a TCP RST, even when added to a live connection;
- whether a toxic with toxicity < 1 hits a connection is drawn from the seed, the connection's ordinal, the toxic's
  name and how often it was updated, never from timing, so a run is reproducible; `reset()` restarts the ordinals.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import logging
import random
import socket
import threading
from collections.abc import Callable, Coroutine, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar

from harness.clock.loops import run_loop
from harness.clock.settle import ready_callbacks
from harness.clock.sockets import Counters, counters, readable
from harness.net.connection import Connection, family, joined
from harness.net.pacing import PACING_QUANTUM_SECONDS, ProxyTime
from harness.net.toxics import Toxic

__all__ = ["PACING_QUANTUM_SECONDS", "FaultProxy", "ProxyTime"]

CONTROL_TIMEOUT_SECONDS = 10.0
T = TypeVar("T")
_log = logging.getLogger(__name__)


class FaultProxy:
    """Forwards `listen` to `upstream` (both "host:port" on loopback; listen port 0 picks a free port).

    `listener`, instead of `listen`, is a socket already bound (so an environment knows every port before any
    process starts); the proxy owns it once started, closes it when down and binds its port again when up.
    Use as a context manager or call `start()`/`stop()`. Control it from any thread but its own.
    """

    def __init__(self, name: str, upstream: str, *, listen: str = "127.0.0.1:0",
                 listener: socket.socket | None = None, enabled: bool = True, seed: int = 0,
                 toxics: Iterable[Toxic | Mapping[str, Any]] = (), time: ProxyTime | None = None) -> None:
        self.name = name
        self.time = time or ProxyTime()
        self._upstream = _loopback_address(upstream, "upstream")
        self._listen = _loopback_address(listen, "listen", port_zero_ok=True)
        self._handed_over = listener
        if listener is not None:
            self._listen = _loopback_address(joined(listener.getsockname()[:2]), "listener")
        self._enabled = enabled
        self._seed = seed
        self._toxics: dict[str, Toxic] = {}
        for toxic in toxics:
            self._insert(_as_toxic(toxic))
        self._opened = 0
        self._revisions: dict[str, int] = {}  # updates per toxic name: each update rolls afresh, as in Toxiproxy
        self._connections: dict[Connection, asyncio.Task[None]] = {}
        self._listener: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        """Runs the proxy in a background thread; returns once it listens (if enabled)."""
        if self._thread is not None:
            raise RuntimeError(f"proxy {self.name!r} is already running")
        loop = asyncio.new_event_loop()
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        thread = threading.Thread(target=self._run, args=(loop, ready), name=f"fault-proxy-{self.name}", daemon=True)
        thread.start()
        try:
            ready.result(CONTROL_TIMEOUT_SECONDS)
        except BaseException:
            thread.join(CONTROL_TIMEOUT_SECONDS)
            raise
        self._loop, self._thread = loop, thread
        return self

    def stop(self) -> None:
        """Closes the listener and every live connection, then ends the thread. Safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self._control(self._shutdown)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CONTROL_TIMEOUT_SECONDS)
            self._loop = self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The listening port (the one picked, once started, when port 0 was asked for)."""
        return self._listen[1]

    @property
    def listen(self) -> str:
        return joined(self._listen)

    @property
    def upstream(self) -> str:
        return joined(self._upstream)

    # -- control (any thread but the proxy's) ------------------------------------------------------------------

    def add_toxic(self, toxic: Toxic | Mapping[str, Any]) -> Toxic:
        """Adds a toxic (a `Toxic` or Toxiproxy's JSON); it also applies to live connections."""
        parsed = _as_toxic(toxic)
        return self._control(self._add, parsed)

    def update_toxic(self, name: str, changes: Mapping[str, Any]) -> Toxic:
        """Toxiproxy's update: `{"attributes": {...}, "toxicity": x}`, either part optional."""
        return self._control(self._update, name, changes)

    def remove_toxic(self, name: str) -> None:
        """Removes a toxic; connections a `timeout` toxic was stalling are closed (their data was dropped)."""
        self._control(self._remove, name)

    def toxics(self) -> list[Toxic]:
        return self._control(self._list)

    def enable(self) -> None:
        self._control(self._set_enabled, True)

    def disable(self) -> None:
        """Down: closes the listener (new connections are refused) and every live connection."""
        self._control(self._set_enabled, False)

    @property
    def enabled(self) -> bool:
        return self._enabled

    def reset(self) -> None:
        """Toxiproxy's reset (no toxics, enabled); connection ordinals restart, so toxicity draws repeat."""
        self._control(self._reset)

    def to_json(self) -> dict[str, Any]:
        """The proxy in Toxiproxy's JSON."""
        return self._control(self._describe)

    def declare_content(self, peer: str, service: str, size: int) -> bool:
        """From another thread: the next `size` bytes the upstream service sends on the connection it sees from
        `peer` ("127.0.0.1:PORT", the proxy's end) to `service` (its own address) are content. Declared before the
        service sends them, so the bandwidth toxics weigh them in full and the rest (handshakes, headers) at the
        protocol weight. False when no connection of this proxy joins those two ends.

        Both ends, because one alone does not name a connection: the kernel gives the same local port to
        connections towards different services at once, so another proxy may have a connection from `peer` too."""
        if size < 0:
            raise ValueError(f"content size must be 0 or more bytes, not {size}")
        return self._control(self._declare_content, (peer, service), size)

    async def _declare_content(self, ends: tuple[str, str], size: int) -> bool:
        for connection in self._connections:
            if connection.upstream_ends() == ends:
                connection.directions[1].content += size
                return True
        return False

    def activity(self) -> tuple[list[str], list[tuple[Counters, bool, bool]]]:
        """From another thread: what is busy on the proxy's loop, and each live socket's byte counters, whether the
        proxy reads it without waiting on the clock, and whether bytes of its own still wait to be written to it;
        all taken in one callback on the loop, so nothing of the proxy's runs between the parts of the picture."""
        loop = self._loop
        if loop is None:
            return [], []
        taken: concurrent.futures.Future[tuple[list[str], list[tuple[Counters, bool, bool]]]] = \
            concurrent.futures.Future()
        loop.call_soon_threadsafe(lambda: taken.set_result(self._picture(loop)))
        return taken.result(CONTROL_TIMEOUT_SECONDS)

    def _picture(self, loop: asyncio.AbstractEventLoop) -> tuple[list[str], list[tuple[Counters, bool, bool]]]:
        ready = ready_callbacks(loop)  # work the proxy has yet to do
        busy = [f"proxy {self.name}: {ready} callbacks ready on its event loop"] if ready else []
        if self._listener is not None and readable(self._listener):
            # A connection the kernel has completed but the proxy not yet accepted: its bytes are on their way.
            busy.append(f"proxy {self.name}: a connection waits to be accepted")
        sockets = []
        for connection in self._connections:
            for sock, reading, sending in connection.sockets():
                now = counters(sock)
                if now is not None:
                    sockets.append((now, reading, sending))
        return busy, sockets

    def _control(self, action: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
        """Runs `action` on the proxy's loop, where all its state lives, and waits for it."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            raise RuntimeError(f"proxy {self.name!r} is not running; call start() first")
        if thread is threading.current_thread():
            raise RuntimeError(f"proxy {self.name!r} is controlled from other threads; its own would deadlock")
        return asyncio.run_coroutine_threadsafe(action(*args), loop).result(CONTROL_TIMEOUT_SECONDS)

    # -- on the proxy's loop -----------------------------------------------------------------------------------

    def _run(self, loop: asyncio.AbstractEventLoop, ready: concurrent.futures.Future[None]) -> None:
        def listen() -> None:
            if self._enabled:
                self._open_listener(loop)
            elif self._handed_over is not None:
                self._handed_over.close()  # down means refused: a listening socket would still accept
                self._handed_over = None
        run_loop(loop, ready, listen)

    def _open_listener(self, loop: asyncio.AbstractEventLoop) -> None:
        listener, self._handed_over = self._handed_over or self._bind(), None
        listener.listen(128)
        listener.setblocking(False)
        self._listen = (self._listen[0], listener.getsockname()[1])
        self._listener = listener
        # A reader callback, not a task awaiting sock_accept: cancelling that task can drop a connection it has
        # just accepted, unclosed.
        loop.add_reader(listener.fileno(), self._accept, loop, listener)

    def _bind(self) -> socket.socket:
        host, port = self._listen
        listener = socket.socket(family(host), socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # up again on the same port
            listener.bind((host, port))
        except OSError:
            listener.close()
            raise
        return listener

    def _close_listener(self, loop: asyncio.AbstractEventLoop) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            loop.remove_reader(listener.fileno())
            listener.close()

    def _accept(self, loop: asyncio.AbstractEventLoop, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except BlockingIOError:
                return
            except OSError as error:  # out of descriptors, say: pause, and keep serving the live connections
                _log.warning("proxy %s: accept failed: %s", self.name, error)
                loop.remove_reader(listener.fileno())
                loop.call_later(0.05, self._resume_accepting, loop, listener)
                return
            client.setblocking(False)
            self._open(client)

    def _resume_accepting(self, loop: asyncio.AbstractEventLoop, listener: socket.socket) -> None:
        if self._listener is listener:
            loop.add_reader(listener.fileno(), self._accept, loop, listener)

    def _open(self, client: socket.socket) -> None:
        ordinal, self._opened = self._opened, self._opened + 1
        connection = Connection(client, self._upstream, ordinal, random.Random(f"{self._seed}/{ordinal}"),
                                 self.time, f"proxy/{self.name}/{ordinal}")
        for toxic in self._toxics.values():
            connection.add(toxic, self._roll(connection, toxic))
        task = asyncio.get_running_loop().create_task(connection.run())
        connection.task = task
        self._connections[connection] = task
        # A done callback, not run()'s finally: a task cancelled before it starts never runs its body.
        task.add_done_callback(lambda _: self._forget(connection))

    def _forget(self, connection: Connection) -> None:
        connection.release()
        self._connections.pop(connection, None)

    def _roll(self, connection: Connection, toxic: Toxic) -> bool:
        draw = f"{self._seed}/{connection.ordinal}/{toxic.name}/{self._revisions.get(toxic.name, 0)}"
        return random.Random(draw).random() < toxic.toxicity

    def _insert(self, toxic: Toxic) -> None:
        if toxic.name in self._toxics:
            raise ValueError(f"proxy {self.name!r} already has a toxic named {toxic.name!r}")
        self._toxics[toxic.name] = toxic

    def _named(self, name: str) -> Toxic:
        toxic = self._toxics.get(name)
        if toxic is None:
            raise KeyError(f"proxy {self.name!r} has no toxic named {name!r}")
        return toxic

    async def _add(self, toxic: Toxic) -> Toxic:
        self._insert(toxic)
        for connection in self._connections:
            connection.add(toxic, self._roll(connection, toxic))
        return toxic

    async def _update(self, name: str, changes: Mapping[str, Any]) -> Toxic:
        toxic = self._named(name).updated(changes)
        self._toxics[name] = toxic
        self._revisions[name] = self._revisions.get(name, 0) + 1
        for connection in self._connections:
            connection.update(toxic, self._roll(connection, toxic))
        return toxic

    async def _remove(self, name: str) -> None:
        self._named(name)
        del self._toxics[name]
        for connection in self._connections:
            connection.remove(name)

    async def _list(self) -> list[Toxic]:
        return list(self._toxics.values())

    async def _set_enabled(self, enabled: bool) -> None:
        if enabled and not self._enabled:
            self._open_listener(asyncio.get_running_loop())
        elif not enabled and self._enabled:
            self._close_listener(asyncio.get_running_loop())
            await self._close_connections()
        self._enabled = enabled

    async def _reset(self) -> None:
        for name in list(self._toxics):
            await self._remove(name)
        self._revisions.clear()
        self._opened = 0
        await self._set_enabled(True)
        if self.time.closes_on_reset:
            # A scenario's bytes still on their way would keep the last scenario's schedule (and its waits on the
            # clock) into the next one, which starts again at the model epoch.
            await self._close_connections()

    async def _describe(self) -> dict[str, Any]:
        return {"name": self.name, "listen": self.listen, "upstream": self.upstream, "enabled": self._enabled,
                "toxics": [toxic.to_json() for toxic in self._toxics.values()]}

    async def _close_connections(self) -> None:
        tasks = list(self._connections.values())
        for connection in list(self._connections):
            connection.close()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _shutdown(self) -> None:
        self._close_listener(asyncio.get_running_loop())
        await self._close_connections()


def _as_toxic(toxic: Toxic | Mapping[str, Any]) -> Toxic:
    return toxic if isinstance(toxic, Toxic) else Toxic.from_json(toxic)


def _loopback_address(text: str, what: str, *, port_zero_ok: bool = False) -> tuple[str, int]:
    """'127.0.0.1:8443' → ('127.0.0.1', 8443); the harness never proxies to or from another machine."""
    host, _, port_text = text.rpartition(":")
    host = "127.0.0.1" if host == "localhost" else host.strip("[]")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
        port = int(port_text)
    except ValueError:
        loopback, port = False, -1
    if not loopback or not (0 if port_zero_ok else 1) <= port <= 65535:
        raise ValueError(f"{what} must be a loopback address and port such as 127.0.0.1:8443, not {text!r}")
    return host, port

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
import contextlib
import ipaddress
import itertools
import logging
import math
import random
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TypeVar

from harness.clock.actor import ClockCancelled
from harness.clock.loops import run_loop
from harness.clock.settle import ready_callbacks
from harness.clock.sockets import Counters, counters, readable
from harness.net.toxics import Toxic

READ_SIZE = 256 * 1024
# Bytes a direction holds back before it stops reading and TCP pushes back on the sender: what is in flight on
# the emulated link (its rate × its latency) plus a little queue, at most MAX_IN_FLIGHT (a large TCP window).
QUEUE_BYTES = 2 * READ_SIZE
MAX_IN_FLIGHT = 16 * 2**20
# A shaped link sends at most this much of its rate at once, so 8 Mbit/s trickles rather than bursts.
PACING_QUANTUM_SECONDS = 0.005
# How far behind the clock pacing may fall and still catch up: absorbs sleeps that wake late.
PACING_SLACK_SECONDS = 0.02
YIELD_EVERY_READS = 4
CONNECT_TIMEOUT_SECONDS = 5.0
CONTROL_TIMEOUT_SECONDS = 10.0

Stream = Literal["upstream", "downstream"]
T = TypeVar("T")
_log = logging.getLogger(__name__)


class ProxyTime:
    """The clock the toxics keep, on the physical timescale: the proxy's event loop's, by default.

    An environment on a virtual clock passes its own (harness/emulators/network/app.py): each wait is then a wait of a
    holder at the clock authority, named after the connection and direction it holds, and `now()` the model time
    divided by the scale. `done(holder)` says the holder's connection is over.
    """

    # How far behind its schedule a paced link may fall and catch up (sleeps that wake late), and the piece of its
    # time a shaped link releases at once. A virtual clock never wakes late and gains nothing from trickling.
    catch_up: float = PACING_SLACK_SECONDS
    quantum: float | None = PACING_QUANTUM_SECONDS
    # Bytes a direction holds back at most before it stops reading (None: what the link holds, see QUEUE_BYTES).
    # A virtual clock reads everything at once: bytes the proxy left in the kernel would arrive when its own queue
    # had room, a moment that depends on the kernel's buffer sizes rather than on the model.
    hold_limit: int | None = None
    closes_on_reset: bool = False  # Toxiproxy's reset keeps live connections; a virtual clock's reset cannot
    stream_quantum: int | None = None  # shaped pieces end at these offsets of the stream (see _pieces)

    def __init__(self, protocol_weight: float = 1.0) -> None:
        # What a byte a server did not declare content (`FaultProxy.declare_content`) weighs on a bandwidth toxic,
        # against a byte of content: 1/scale in an environment, where a physical byte of content stands for `scale`
        # model bytes and a TLS handshake or a header only for itself. 1 (every byte alike) for Toxiproxy's clients.
        if not 0 < protocol_weight <= 1:
            raise ValueError(f"protocol_weight must be in (0, 1], not {protocol_weight!r}")
        self.protocol_weight = protocol_weight

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, holder: str, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def sleep_until(self, holder: str, when: float) -> None:
        """Waits until `when` on this clock (a schedule's instant: on a virtual clock the very model microsecond
        it stands for, whenever the wait is asked)."""
        await self.sleep(holder, when - self.now())

    def done(self, holder: str) -> None:
        pass


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
            self._listen = _loopback_address(_joined(listener.getsockname()[:2]), "listener")
        self._enabled = enabled
        self._seed = seed
        self._toxics: dict[str, Toxic] = {}
        for toxic in toxics:
            self._insert(_as_toxic(toxic))
        self._opened = 0
        self._revisions: dict[str, int] = {}  # updates per toxic name: each update rolls afresh, as in Toxiproxy
        self._connections: dict[_Connection, asyncio.Task[None]] = {}
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
        return _joined(self._listen)

    @property
    def upstream(self) -> str:
        return _joined(self._upstream)

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
        listener = socket.socket(_family(host), socket.SOCK_STREAM)
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
        connection = _Connection(client, self._upstream, ordinal, random.Random(f"{self._seed}/{ordinal}"),
                                 self.time, f"proxy/{self.name}/{ordinal}")
        for toxic in self._toxics.values():
            connection.add(toxic, self._roll(connection, toxic))
        task = asyncio.get_running_loop().create_task(connection.run())
        connection.task = task
        self._connections[connection] = task
        # A done callback, not run()'s finally: a task cancelled before it starts never runs its body.
        task.add_done_callback(lambda _: self._forget(connection))

    def _forget(self, connection: _Connection) -> None:
        connection.release()
        self._connections.pop(connection, None)

    def _roll(self, connection: _Connection, toxic: Toxic) -> bool:
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


@dataclass
class _Applied:
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


class _Connection:
    """One client connection and its upstream connection, with the toxics that hit it."""

    task: asyncio.Task[None] | None = None

    def __init__(self, client: socket.socket, upstream: tuple[str, int], ordinal: int, rng: random.Random,
                 time: ProxyTime | None = None, name: str = "") -> None:
        self.time = time or ProxyTime()
        self.name = name  # holders at a virtual clock are named after it: proxy/<proxy>/<ordinal>/<what>
        self.directions: list[_Direction] = []
        self._client = client
        self._upstream_address = upstream
        self._upstream: socket.socket | None = None
        self.ordinal = ordinal
        self.rng = rng  # jitter and slice sizes
        self._applied: dict[str, _Applied] = {}
        self._chains: dict[str, tuple[_Applied, ...]] = {"upstream": (), "downstream": ()}
        self._closing = asyncio.Event()
        self._abort = False
        self._finished = 0
        _tune(client)

    def chain(self, stream: str) -> tuple[_Applied, ...]:
        """The toxics that hit this connection in `stream`, in the order they were added."""
        return self._chains[stream]

    def add(self, toxic: Toxic, hit: bool) -> None:
        applied = _Applied(toxic, hit)
        self._applied[toxic.name] = applied
        self._start(applied)
        self._rebuild()

    def update(self, toxic: Toxic, hit: bool) -> None:
        old = self._applied[toxic.name]
        old.cancel()
        new = self._applied[toxic.name] = _Applied(toxic, hit, sent=old.sent)
        self._start(new)
        self._rebuild()

    def remove(self, name: str) -> None:
        old = self._applied.pop(name)
        old.cancel()
        self._rebuild()
        if old.hit and old.toxic.type == "timeout":
            self.close()  # Toxiproxy closes too: the stalled data is gone, the stream cannot resume

    def arm_reset(self, applied: _Applied) -> None:
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
            self.directions = [_Direction(self, "upstream", self._client, upstream),
                               _Direction(self, "downstream", upstream, self._client)]
            for direction in self.directions:
                tasks += [loop.create_task(self._guarded(direction.read)),
                          loop.create_task(self._guarded(direction.write))]
            await self._closing.wait()
        except OSError as error:
            _log.info("upstream %s unreachable: %s", _joined(self._upstream_address), error)
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
            _close_socket(sock, abort=self._abort)

    def upstream_ends(self) -> tuple[str, str] | None:
        """The upstream connection's ends, ("127.0.0.1:PORT", "127.0.0.1:SERVICE_PORT"): the client address the
        service sees, and the service's own."""
        if self._upstream is None or len(self.directions) != 2:
            return None
        with contextlib.suppress(OSError):
            return _joined(self._upstream.getsockname()[:2]), _joined(self._upstream.getpeername()[:2])
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
        upstream = socket.socket(_family(host), socket.SOCK_STREAM)
        upstream.setblocking(False)
        try:
            connecting = asyncio.get_running_loop().sock_connect(upstream, (host, port))
            await asyncio.wait_for(connecting, CONNECT_TIMEOUT_SECONDS)
        except BaseException:
            upstream.close()
            raise
        _tune(upstream)
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

    def _start(self, applied: _Applied) -> None:
        milliseconds = applied.toxic.attributes.get("timeout", 0)
        if applied.hit and applied.toxic.type == "timeout" and milliseconds > 0:
            applied.timer = self._after(applied.toxic, milliseconds / 1000, abort=False)

    def _rebuild(self) -> None:
        for stream in self._chains:
            self._chains[stream] = tuple(a for a in self._applied.values() if a.hit and a.toxic.stream == stream)


@dataclass
class _Item:
    arrival: float  # when the proxy read it, on the proxy's clock
    latency: float = 0.0  # the one-way delay drawn for it (jitter included)
    data: bytes = b""
    kind: Literal["data", "eof", "close"] = "data"


class _Direction:
    """One direction of a connection: a reader that admits chunks, a writer that releases them on time.

    With no toxics and nothing held back, the reader writes straight through (the unshaped fast path).
    """

    def __init__(self, connection: _Connection, stream: Stream, source: socket.socket,
                 destination: socket.socket) -> None:
        self._connection = connection
        self._stream = stream
        self._source = source
        self._destination = destination
        self._items: deque[_Item] = deque()
        self._held = 0  # bytes queued or being written by the writer
        self._limit = connection.time.hold_limit or QUEUE_BYTES
        self._pending = 0  # items queued or being written
        self._last_due = -math.inf  # when the last piece left: nothing leaves before it
        self._ready_at = -math.inf  # when the writer was ready for the next piece: on schedule, or after a reader
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._pacer = _Pacer()
        self._slice_left = 0  # bytes of the slicer's current slice still to go: slices run across reads
        self._sent = 0  # bytes of the stream written on: shaped pieces end at its multiples of the stream quantum
        self.content = 0  # bytes still to come that the service declared content (the rest weigh protocol_weight)
        self.holder = f"{connection.name}/{stream}"
        self.reading = True  # the reader takes what arrives without waiting on the clock
        self.sending = False  # a write of the proxy's own is not all in the kernel yet

    async def read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await self._read(loop)
        finally:
            self.reading = False

    async def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        for count in itertools.count(1):
            # Only a shaped direction needs its pieces cut at fixed offsets; the rest passes as it comes.
            data = await loop.sock_recv(self._source, READ_SIZE)
            if not data:
                await self._enqueue(_Item(self._connection.time.now(), kind="eof"))
                return
            chain = self._connection.chain(self._stream)
            if not chain and not self._pending:
                self.content = max(0, self.content - len(data))  # declared content passes unshaped
                await self._send(data)
            elif not await self._admit(data, chain, self._connection.time.now()):
                return
            if count % YIELD_EVERY_READS == 0:
                # recv and send return without suspending while they can proceed: a fast transfer (or data a
                # timeout toxic drops) would otherwise hold the loop, and timers and control calls wait.
                await asyncio.sleep(0)

    async def _send(self, data: bytes | memoryview) -> bool:
        """Writes all of `data`; True when the reader held it up (the kernel's buffer towards it was full)."""
        self.sending = True
        try:
            view = memoryview(data)
            try:
                sent = self._destination.send(view)
            except BlockingIOError:
                sent = 0
            if sent == len(view):
                return False
            await asyncio.get_running_loop().sock_sendall(self._destination, view[sent:])
            return True
        finally:
            self.sending = False

    async def write(self) -> None:
        time = self._connection.time
        while True:
            item = await self._dequeue()
            if item.kind != "data":  # an end leaves after what came before it
                await time.sleep_until(self.holder, max(self._last_due, item.arrival + item.latency))
            if item.kind == "eof":
                with contextlib.suppress(OSError):  # the peer may already be gone; the other side decides
                    self._destination.shutdown(socket.SHUT_WR)
                self._connection.direction_finished()
                return
            if item.kind == "close":
                self._connection.close()
                return
            together = self._together(item)
            await self._send_shaped(together[0] if len(together) == 1 else
                                    _Item(item.arrival, item.latency, b"".join(i.data for i in together)))
            for done in together:
                self._written(done)

    def _together(self, first: _Item) -> list[_Item]:
        """On a virtual clock, `first` and the data queued behind it that arrived with it and crosses the link with
        the same latency: one run of the stream, cut into pieces at its fixed offsets rather than at the reads'
        ends (a read is a TLS record or two, and each piece costs a wake-up)."""
        together = [first]
        if self._connection.time.stream_quantum is None:
            return together
        while self._items and self._items[0].kind == "data" and self._items[0].arrival == first.arrival \
                and self._items[0].latency == first.latency:
            together.append(self._items.popleft())
        return together

    async def _admit(self, data: bytes, chain: tuple[_Applied, ...], now: float) -> bool:
        """Applies the reading side of the toxics; False once limit_data has let its last byte through."""
        latency, limited = 0.0, False
        for applied in chain:
            kind = applied.toxic.type
            if kind == "timeout":
                return True  # dropped, as Toxiproxy drops it
            if kind == "reset_peer":
                self._connection.arm_reset(applied)
                return True
            if kind == "limit_data":
                data, limited = _limited(applied, data)
            elif kind == "latency":
                latency += self._delay(applied.toxic)
        self._limit = self._connection.time.hold_limit or _hold_limit(chain, latency)
        if data:
            await self._enqueue(_Item(now, latency, data))
        if limited:
            await self._enqueue(_Item(now, latency, kind="close"))
        return not limited

    def _delay(self, toxic: Toxic) -> float:
        jitter = toxic.attributes["jitter"]
        spread = self._connection.rng.randint(-jitter, jitter) if jitter else 0
        return max(0, toxic.attributes["latency"] + spread) / 1000

    async def _send_shaped(self, item: _Item) -> None:
        """Each piece leaves when the link has serialised it (bandwidth: from when it arrived, or when the link
        was free) and it has crossed the link (latency); a slicer's pause keeps the link busy. The schedule is
        kept against when bytes arrived, never against when the proxy got round to them, so bytes the proxy read
        late because its own queue was full leave exactly when they would have."""
        chain = self._connection.chain(self._stream)
        slicer = next((a.toxic for a in chain if a.toxic.type == "slicer"), None)
        rate = _rate(chain)
        time = self._connection.time
        self._ready_at = max(self._ready_at, item.arrival)
        for piece, pause in self._slices(memoryview(item.data), slicer):
            for part in self._pieces(piece, rate, time):
                # A link does not save up what it could have carried while the reader was not reading: after a
                # reader held the writer up, the schedule starts afresh from then, less the catch-up. (A virtual
                # clock is never late, and a piece held up by a reader that does not read leaves at once.)
                floor = self._ready_at - item.latency - time.catch_up if time.catch_up else -math.inf
                content = min(self.content, len(part))
                self.content -= content
                serialised = self._pacer.serialise(max(item.arrival, floor), content, len(part) - content, rate,
                                                   time.protocol_weight)
                leave = self._last_due = max(self._last_due, serialised + item.latency)  # jitter never reorders
                await time.sleep_until(self.holder, leave)
                # A wake-up a busy machine delivered late is the proxy's own delay, not the reader's: the schedule
                # goes on from where it was, and the pieces after it make the delay up, so the link's rate holds
                # on average however the proxy is scheduled.
                held_up = await self._send(part)
                self._ready_at = time.now() if held_up else max(self._ready_at, leave)
            if pause:
                self._pacer.pause(pause)

    def _pieces(self, data: memoryview, rate: float, time: ProxyTime) -> Iterator[memoryview]:
        """What a shaped link releases at once: on a virtual clock, pieces that end at fixed offsets of the stream
        (or where the data at hand ends), so the end of each piece, and so the last byte of a transfer, leaves when
        the model says, however the kernel happened to hand the bytes over; otherwise quanta of the link's time."""
        quantum = time.stream_quantum
        if quantum is None:
            yield from _quanta(data, rate, time.quantum)
            return
        if not rate:  # latency alone: every byte at hand leaves at the same instant, so at once
            self._sent += len(data)
            yield data
            return
        offset = 0
        while offset < len(data):
            size = min(quantum - self._sent % quantum, len(data) - offset)
            self._sent += size
            yield data[offset:offset + size]
            offset += size

    def _slices(self, data: memoryview, slicer: Toxic | None) -> Iterator[tuple[memoryview, float]]:
        """(slice, pause after it): average_size ± size_variation bytes, `delay` µs apart. A slice may span two
        reads, so where the pauses fall depends on the bytes, not on how the kernel happened to hand them over."""
        if slicer is None:
            self._slice_left = 0
            yield data, 0.0
            return
        average, variation = slicer.attributes["average_size"], slicer.attributes["size_variation"]
        pause = slicer.attributes["delay"] / 1e6
        offset = 0
        while offset < len(data):
            if self._slice_left <= 0:
                rng = self._connection.rng
                self._slice_left = max(1, average + (rng.randint(-variation, variation) if variation else 0))
            size = min(self._slice_left, len(data) - offset)
            self._slice_left -= size
            yield data[offset:offset + size], pause if self._slice_left == 0 else 0.0
            offset += size

    async def _enqueue(self, item: _Item) -> None:
        self._items.append(item)
        self._held += len(item.data)
        self._pending += 1
        self._ready.set()
        while self._held > self._limit:
            self._room.clear()
            self.reading = False  # full: what arrives waits in the kernel until the writer has sent on time
            try:
                await self._room.wait()
            finally:
                self.reading = True

    async def _dequeue(self) -> _Item:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def _written(self, item: _Item) -> None:
        self._held -= len(item.data)
        self._pending -= 1
        if self._held <= self._limit:
            self._room.set()


class _Pacer:
    """A link's serialisation: a piece is through when the link has carried it, from when it arrived or when the
    link was free, whichever is later. Kept against the clock rather than slept per piece, so a sleep that wakes
    late is made up by the pieces after it. Within one busy spell the end is worked out afresh from the bytes
    carried since the spell began (content bytes, and protocol bytes at their weight), never summed piece by
    piece: how the bytes were cut leaves no trace in it."""

    def __init__(self) -> None:
        self._began = -math.inf  # when the link's current busy spell began
        self._content = 0  # content bytes carried since then
        self._protocol = 0  # and other bytes
        self._weight = 1.0  # what one of those weighs against a byte of content
        self._paused = 0.0  # seconds of slicer pauses since then
        self._rate = 0.0
        self._end = -math.inf

    def serialise(self, arrival: float, content: int, protocol: int, rate: float, weight: float = 1.0) -> float:
        """When `content` and `protocol` bytes that arrived at `arrival` are through a link of `rate` bytes/s of
        content (0: unlimited), a protocol byte weighing `weight` of a content byte."""
        if arrival > self._end or rate != self._rate or weight != self._weight:  # idle meanwhile: a new spell
            self._began, self._content, self._protocol, self._paused = max(arrival, self._end), 0, 0, 0.0
            self._rate, self._weight = rate, weight
        self._content += content
        self._protocol += protocol
        return self._through()

    def pause(self, seconds: float) -> None:
        """The link carries nothing for `seconds` (a slicer's delay between slices)."""
        self._paused += seconds
        self._through()

    def _through(self) -> float:
        carried = self._content + self._protocol * self._weight
        self._end = self._began + self._paused + (carried / self._rate if self._rate else 0.0)
        return self._end


def _rate(chain: tuple[_Applied, ...]) -> float:
    """Bytes/s of the slowest bandwidth toxic; 0 when unshaped (rate 0 is unlimited, as in Toxiproxy)."""
    rates = [a.toxic.attributes["rate"] * 1000 for a in chain if a.toxic.type == "bandwidth"]
    return min((r for r in rates if r > 0), default=0)


def _hold_limit(chain: tuple[_Applied, ...], latency: float) -> int:
    rate = _rate(chain)
    if latency <= 0:
        return QUEUE_BYTES
    in_flight = rate * latency if rate else MAX_IN_FLIGHT
    return min(MAX_IN_FLIGHT, QUEUE_BYTES + int(in_flight))


def _limited(applied: _Applied, data: bytes) -> tuple[bytes, bool]:
    allowed = max(0, applied.toxic.attributes["bytes"] - applied.sent)
    data = data[:allowed]
    applied.sent += len(data)
    return data, applied.sent >= applied.toxic.attributes["bytes"]


def _quanta(piece: memoryview, rate: float, quantum: float | None) -> Iterator[memoryview]:
    if not rate or quantum is None:
        yield piece
        return
    size = max(1, int(rate * quantum))
    for offset in range(0, len(piece), size):
        yield piece[offset:offset + size]


def _as_toxic(toxic: Toxic | Mapping[str, Any]) -> Toxic:
    return toxic if isinstance(toxic, Toxic) else Toxic.from_json(toxic)


def _tune(sock: socket.socket) -> None:
    # Nagle would hold back small writes and add its own latency to every toxic's timing.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _close_socket(sock: socket.socket | None, *, abort: bool) -> None:
    if sock is None:
        return
    if abort:  # linger 0: close sends RST and drops unsent data
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _joined(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


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

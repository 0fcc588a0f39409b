"""The client agent's side of the virtual clock's question "is the world quiet?": which runs wait on the network.

A run in an HTTP call is busy for the clock authority, unless its process says the run's thread is blocked
reading a socket. `ClockedBackend` is the httpcore network backend of every client: each read marks the run it
is made for (the thread's bound actor) as waiting on that socket until the read returns. `report()` gives the
authority those marks and every client connection's byte counters (`harness.clock.settle`): a run blocked on a
socket with nothing on its way to it is waiting for something held on the clock (a proxy's latency, a slow
answer), and time may move on.

The marks are local (no message per read); the authority believes them only for the wake-up it last released to
the run, so a mark taken before a wake-up reached the run never counts.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
import time
import typing
from collections.abc import Iterable
from functools import partial

import httpcore

from harness.clock.actor import Actor, current_or_none
from harness.clock.settle import Report, SocketReport
from harness.clock.sockets import counters
from harness.net.handshake import HandshakeFailed


class NetworkActivity:
    """Every client connection of the process, and which runs are blocked reading which."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: dict[int, typing.Any] = {}  # id -> the TCP socket under TLS
        self._waiting: dict[str, tuple[int, int]] = {}  # actor -> (wake-ups it has seen, id of its socket)

    def opened(self, sock: typing.Any) -> None:
        with self._lock:
            self._sockets[id(sock)] = sock

    def closed(self, sock: typing.Any) -> None:
        with self._lock:
            self._sockets.pop(id(sock), None)

    def reading(self, actor: Actor, sock: typing.Any) -> None:
        with self._lock:
            self._waiting[actor.name] = (actor.release, id(sock))

    def read(self, actor: Actor) -> None:
        with self._lock:
            self._waiting.pop(actor.name, None)

    def report(self) -> Report:
        with self._lock:
            sockets, waiting = dict(self._sockets), dict(self._waiting)
        read_on = {sock for _, sock in waiting.values()}
        reports = []
        for key, sock in sockets.items():
            now = counters(sock)
            if now is not None:
                reports.append(SocketReport(now, reading=key in read_on))
        return Report("client", sockets=reports, waiting={name: seen for name, (seen, _) in waiting.items()})


NETWORK = NetworkActivity()


class ClockedBackend(httpcore.NetworkBackend):
    """httpcore's own sync backend, with every wait of a stream on the network marked for the clock: the socket is
    non-blocking, and while an attempt would block the run waits in select(), marked (see the module's doc). A
    mark covers only the wait itself, never the work before or after it (decrypting a record, a handshake's
    arithmetic), so the authority never takes a run that is computing for one that waits."""

    def __init__(self, activity: NetworkActivity = NETWORK) -> None:
        self._inner = httpcore.SyncBackend()
        self._activity = activity

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        sock: socket.socket = stream.get_extra_info("socket")
        self._activity.opened(sock)
        return _ClockedStream(sock, sock, self._activity)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        return self._inner.connect_unix_socket(path, timeout, socket_options)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _ClockedStream(httpcore.NetworkStream):
    """httpcore's SyncStream, its waits marked; the same exceptions for the same failures."""

    def __init__(self, sock: socket.socket, raw: socket.socket, activity: NetworkActivity) -> None:
        self._sock = sock  # the TCP socket, or the TLS socket over it
        self._raw = raw  # the socket object the activity knows this connection by
        self._activity = activity

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _mapped(httpcore.ReadTimeout, httpcore.ReadError):
            return self._io(self._sock, lambda: self._sock.recv(max_bytes), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _mapped(httpcore.WriteTimeout, httpcore.WriteError):
            view = memoryview(buffer)
            while view:
                view = view[self._io(self._sock, partial(self._sock.send, view), timeout):]

    def close(self) -> None:
        self._activity.closed(self._raw)
        self._sock.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        # A failure here is on a connection TCP made: HandshakeFailed, which the client reports as the connection
        # (0x80072EFE), never as "cannot connect".
        with _mapped(httpcore.ConnectTimeout, HandshakeFailed):
            try:
                # wrap_socket detaches the TCP socket object: from here on the TLS socket is the one to ask for the
                # kernel's counters (same descriptor), and the one a wait is marked on.
                tls = ssl_context.wrap_socket(self._raw, server_hostname=server_hostname,
                                              do_handshake_on_connect=False)
                self._activity.closed(self._raw)
                self._activity.opened(tls)
                self._raw = self._sock = tls  # the TCP socket object is detached: close() must close this one
                self._io(tls, tls.do_handshake, timeout)
            except Exception:
                self.close()
                raise
        return _ClockedStream(tls, tls, self._activity)

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock._sslobj  # type: ignore[attr-defined]  # what httpcore's own stream answers
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            return _readable(self._sock)
        return None

    def _io(self, sock: socket.socket, attempt: typing.Callable[[], T], timeout: float | None) -> T:
        """`attempt()` on the non-blocking socket; while it would block, wait for the socket in select(), marked
        as the run's wait on the network. `timeout` (real seconds) is httpx's, a safety net."""
        deadline = None if timeout is None else time.monotonic() + timeout
        sock.setblocking(False)
        try:
            while True:
                try:
                    return attempt()
                except (BlockingIOError, ssl.SSLWantReadError):
                    readable = True
                except ssl.SSLWantWriteError:
                    readable = False
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not self._wait(sock, readable, left):
                    raise TimeoutError("timed out")
        finally:
            with contextlib.suppress(OSError):
                sock.setblocking(True)

    def _wait(self, sock: socket.socket, readable: bool, timeout: float | None) -> bool:
        actor = current_or_none()
        if isinstance(actor, Actor):
            self._activity.reading(actor, self._raw)
        try:
            ready = select.select([sock] if readable else [], [] if readable else [sock], [], timeout)
        finally:
            if isinstance(actor, Actor):
                self._activity.read(actor)
        return bool(ready[0] or ready[1])


T = typing.TypeVar("T")


@contextlib.contextmanager
def _mapped(timeout: type[Exception], failure: type[Exception]) -> typing.Iterator[None]:
    """The exceptions httpcore's own stream raises, with the socket's error as their cause (the client's WinHTTP
    codes are read from it)."""
    try:
        yield
    except TimeoutError as error:  # socket.timeout is TimeoutError
        raise timeout(str(error)) from error
    except OSError as error:
        raise failure(str(error)) from error


def _readable(sock: socket.socket) -> bool:
    """httpcore asks before reusing a kept-alive connection: readable means the server closed it (or misbehaved)."""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True

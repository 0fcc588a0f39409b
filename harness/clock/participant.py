"""A process of the emulated world answering the clock authority's "are you quiet?" (`settle.py`).

`Participant` holds one TCP connection to the authority in a thread of its own and answers each
`{"op": "report", "id": K}` with `report()`, a `settle.Report` of the process. `LoopActivity` builds the report of a
process whose work runs on one asyncio event loop (the services): what its loop has ready to run, the requests
of the world it is handling, and its connections' byte counters, taken on the loop itself so nothing runs
between the parts of the picture.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from harness.clock.settle import Report, SocketReport, ready_callbacks
from harness.clock.sockets import counters, readable

REPORT_TIMEOUT_SECONDS = 5.0
CONNECT_SECONDS = 30.0
_log = logging.getLogger(__name__)


class Participant:
    """Answers the authority at `address` for `party` with `report()` until the connection or process ends."""

    def __init__(self, address: str, party: str, report: Callable[[], Report]) -> None:
        self._sock = _connect(address)
        self._sock.settimeout(None)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader = self._sock.makefile("rb")
        self.party = party
        self._report = report
        self._sock.sendall(json.dumps({"op": "participant", "party": party}).encode() + b"\n")
        answer = json.loads(self._reader.readline() or b"{}")
        if not answer.get("ok"):
            raise RuntimeError(f"the clock authority at {address} refused participant {party}: {answer}")
        threading.Thread(target=self._serve, name=f"clock-participant-{party}", daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while line := self._reader.readline():
                ask = json.loads(line)
                try:
                    report = self._report()
                except Exception as error:  # say so rather than leave the authority waiting
                    _log.exception("report for the clock failed")
                    report = Report(self.party, busy=[f"report failed: {error!r}"])
                self._sock.sendall(json.dumps({"id": ask.get("id"), "report": report.to_json()}).encode() + b"\n")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._reader.close()
            self._sock.close()


def _connect(address: str) -> socket.socket:
    """The authority may not listen yet: containers start together, and the network's binds its own port.
    Joined before the service says it is ready, so no run starts before every party reports."""
    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + CONNECT_SECONDS
    while True:
        try:
            return socket.create_connection((host, int(port)), timeout=10.0)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise ConnectionRefusedError(f"the clock authority at {address} did not answer within "
                                             f"{CONNECT_SECONDS:.0f} s") from None
            time.sleep(0.05)


class LoopActivity:
    """What a service process is doing, for its reports: bound to its event loop once the server starts.

    The HTTP protocol registers each connection's transport (`connection_made`/`connection_lost`); the control
    middleware counts the world's requests in progress (`request()`), and a request held on the clock (a delay
    fault) says so (`held()`) for as long as it waits.
    """

    def __init__(self, party: str) -> None:
        self.party = party
        self.loop: asyncio.AbstractEventLoop | None = None
        self._transports: set[asyncio.Transport] = set()
        self._requests: dict[int, str] = {}
        self._held: set[int] = set()
        self._keys = itertools.count(1)
        self.listeners: list[socket.socket] = []  # the server's listening sockets
        self._accepted: dict[int, socket.socket] = {}  # every connection accepted, from the moment it is

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def accepted(self, sock: socket.socket) -> None:
        """A connection the server just accepted: known before its TLS handshake, which asyncio does before the
        HTTP protocol hears of the connection (and bytes may already be on their way to it)."""
        self._accepted[id(sock)] = sock

    def connection_made(self, transport: asyncio.Transport) -> None:
        self._transports.add(transport)

    def connection_lost(self, transport: asyncio.Transport) -> None:
        self._transports.discard(transport)

    @contextlib.contextmanager
    def request(self, what: str) -> Any:
        key = next(self._keys)
        self._requests[key] = what
        try:
            yield key
        finally:
            self._requests.pop(key, None)
            self._held.discard(key)

    def hold(self, key: int) -> None:
        """The request waits, on the clock or for the network, and does not count as busy until `unhold`."""
        self._held.add(key)

    def unhold(self, key: int) -> None:
        self._held.discard(key)

    def report(self) -> Report:
        """From any thread but the loop's: the picture, taken on the loop."""
        loop = self.loop
        if loop is None:
            return Report(self.party, busy=["not started"])
        taken: concurrent.futures.Future[Report] = concurrent.futures.Future()
        loop.call_soon_threadsafe(lambda: taken.set_result(self._picture(loop)))
        return taken.result(REPORT_TIMEOUT_SECONDS)

    def _picture(self, loop: asyncio.AbstractEventLoop) -> Report:
        # Runs as one callback: nothing of the loop's runs meanwhile, and what is ready to run next is queued.
        ready = ready_callbacks(loop)
        busy = [what for key, what in self._requests.items() if key not in self._held]
        if ready:
            busy.append(f"{ready} callbacks ready on its event loop")
        if any(readable(listener) for listener in self.listeners):
            busy.append("a connection waits to be accepted")  # completed by the kernel, its bytes on their way
        transports: dict[int, asyncio.Transport] = {}
        for transport in list(self._transports):
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.fileno() >= 0:
                transports[sock.fileno()] = transport
        sockets = []
        for key, sock in list(self._accepted.items()):
            now = counters(sock) if sock.fileno() >= 0 else None
            if now is None:
                del self._accepted[key]  # closed
                continue
            known = transports.get(sock.fileno())
            if known is None:  # still in its TLS handshake: asyncio reads what arrives
                sockets.append(SocketReport(now, reading=True))
                continue
            reading = known.is_reading() and not known.is_closing()
            sockets.append(SocketReport(now, reading, pending=known.get_write_buffer_size() > 0))
        return Report(self.party, busy=busy, sockets=sockets)


class TrackedListener(socket.socket):
    """A listening socket that tells the process's activity of every connection it accepts."""

    def accept(self) -> tuple[socket.socket, Any]:
        conn, address = super().accept()
        ACTIVITY.accepted(conn)
        return conn, address


ACTIVITY = LoopActivity("service")  # the process's one service (set `party` when it starts)

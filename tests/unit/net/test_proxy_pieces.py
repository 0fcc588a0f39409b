"""How a shaped link cuts the stream on a virtual clock: pieces end at fixed offsets of the stream, so the instant
each offset leaves depends on the bytes alone, never on how the kernel handed them to the proxy; and what
arrived together leaves in as few pieces as the offsets allow (each piece is a wake-up of the clock).

The proxy's clock here stands still at 0 and records every wait: the instants a piece was due are the figures
under test, whatever order the kernel gave the bytes in. It answers a wait at once, or, as the clock authority
does, only once the world is quiet: once the proxy has read every byte sent to it.
"""

from __future__ import annotations

import asyncio
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from harness.net.proxy import FaultProxy, ProxyTime
from harness.net.toxics import Toxic

QUANTUM = 64 * 1024
RATE_KBPS = 1000  # Toxiproxy's KB/s: 1,000,000 bytes per second of the proxy's clock
SIZE = 20 * QUANTUM + 5000


class _StillTime(ProxyTime):
    """A virtual clock that never moves on its own: every wait is recorded and answered at once, or when `quiet()`
    says so (asked in a worker thread, as the authority asks for reports while the proxy's loop runs on)."""

    catch_up = 0.0
    quantum = None
    hold_limit = 64 * 2**20
    stream_quantum = QUANTUM

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.quiet: Callable[[], bool] = lambda: True
        self._lock = threading.Lock()

    def now(self) -> float:
        return 0.0

    async def sleep_until(self, holder: str, when: float) -> None:
        if holder.endswith("downstream"):
            with self._lock:
                self.waits.append(when)
            await asyncio.to_thread(_until, self.quiet)


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the proxy never read every byte sent to it"
        time.sleep(0.001)


class _Sender(socketserver.BaseRequestHandler):
    """Sends SIZE bytes once asked: all at once, or in 4 KiB writes with pauses so the proxy reads them apart."""

    def handle(self) -> None:
        trickle = self.request.recv(16).startswith(b"trickle")
        data = bytes(range(256)) * (SIZE // 256) + bytes(SIZE % 256)
        if not trickle:
            self.request.sendall(data)
            return
        for offset in range(0, SIZE, 4096):
            self.request.sendall(data[offset:offset + 4096])
            time.sleep(0.001)


@pytest.fixture(scope="module")
def sender() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Sender)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def _waits(sender: str, how: str, *toxics: Toxic, settle: bool = False) -> list[float]:
    """The instants the downstream direction waited for, for one transfer of SIZE bytes sent `how`; `settle`:
    each wait ends only once the proxy has read all SIZE bytes from the sender."""
    clock = _StillTime()
    with FaultProxy("storage", sender, time=clock, toxics=toxics) as proxy:
        if settle:
            clock.quiet = lambda: _read_from(proxy, sender) == SIZE
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
            sock.sendall(how.encode())
            received = 0
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
    assert received == SIZE
    return clock.waits


def _read_from(proxy: FaultProxy, sender: str) -> int:
    """Bytes the proxy has read from its connection to `sender` (the kernel's count, see harness.clock.sockets)."""
    return max((c.taken for c, _, _ in proxy.activity()[1] if c.peer == sender), default=0)


@pytest.mark.parametrize("how", ["at-once", "trickle"])
def test_every_quantum_of_the_stream_leaves_when_its_bytes_are_serialised(sender: str, how: str) -> None:
    waits = _waits(sender, how, Toxic("bandwidth", {"rate": RATE_KBPS}))
    rate = RATE_KBPS * 1000
    for k in range(1, SIZE // QUANTUM + 1):
        assert k * QUANTUM / rate in waits, f"no piece ended at offset {k * QUANTUM}"
    assert max(waits) == SIZE / rate
    assert waits == sorted(waits)


def test_bytes_that_arrived_together_leave_in_one_piece_per_quantum(sender: str) -> None:
    waits = _waits(sender, "at-once", Toxic("bandwidth", {"rate": RATE_KBPS}), settle=True)
    # One instant per offset and the end; and one more where the first run the writer took ended (it took what was
    # queued when it began, before the rest had arrived).
    assert len(set(waits)) <= SIZE // QUANTUM + 2


def test_latency_alone_sends_what_is_at_hand_at_once(sender: str) -> None:
    waits = _waits(sender, "at-once", Toxic("latency", {"latency": 250, "jitter": 0}), settle=True)
    assert set(waits) == {0.25}
    assert len(waits) < SIZE // QUANTUM


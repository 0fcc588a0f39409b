"""How a shaped link cuts the stream on a virtual clock: pieces end at fixed offsets of the stream, so the instant
each offset leaves depends on the bytes alone, never on how the kernel handed them to the proxy; and what
arrived together leaves in as few pieces as the offsets allow (each piece is a wake-up of the clock).

The proxy's clock here stands still at 0 and records every wait: the instants a piece was due are the figures
under test, whatever order the kernel gave the bytes in. It answers a wait at once, or, as the clock authority
does, only once the world is quiet: once the proxy has read every byte sent to it.
"""

from __future__ import annotations

import asyncio
import queue
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from harness.net.proxy import FaultProxy, ProxyTime
from harness.net.toxics import Toxic
from tests.unit.net.proxy_upstream import serving

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

    def __init__(self, protocol_weight: float = 1.0) -> None:
        super().__init__(protocol_weight)
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


class _Senders(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Sender)
        self.peers: queue.Queue[str] = queue.Queue()  # each connection's client address, as the sender sees it

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _Sender(socketserver.BaseRequestHandler):
    """Sends SIZE bytes once asked: all at once, or in 4 KiB writes with pauses so the proxy reads them apart.
    First it takes one byte and says where the connection comes from (`peers`), as a service sees the proxy."""

    def handle(self) -> None:
        assert isinstance(self.server, _Senders)
        self.request.recv(1)  # a byte through the proxy: the proxy's ends are both up now
        self.server.peers.put(f"{self.client_address[0]}:{self.client_address[1]}")
        trickle = self.request.recv(16).startswith(b"trickle")
        data = bytes(range(256)) * (SIZE // 256) + bytes(SIZE % 256)
        if not trickle:
            self.request.sendall(data)
            return
        for offset in range(0, SIZE, 4096):
            self.request.sendall(data[offset:offset + 4096])
            time.sleep(0.001)


@pytest.fixture(scope="module")
def sender() -> Iterator[_Senders]:
    with serving(_Senders()) as server:
        yield server


def _waits(sender: _Senders, how: str, *toxics: Toxic, settle: bool = False, content: int = 0,
           protocol_weight: float = 1.0) -> list[float]:
    """The instants the downstream direction waited for, for one transfer of SIZE bytes sent `how`; `settle`:
    each wait ends only once the proxy has read all SIZE bytes from the sender; `content`: bytes of it declared
    content before the sender sends (the rest weigh `protocol_weight`)."""
    clock = _StillTime(protocol_weight)
    with FaultProxy("storage", sender.address, time=clock, toxics=toxics) as proxy:
        if settle:
            clock.quiet = lambda: _read_from(proxy, sender.address) == SIZE
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
            sock.sendall(b"?")
            peer = sender.peers.get(timeout=10)
            if content:
                assert proxy.declare_content(peer, sender.address, content)
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
def test_every_quantum_of_the_stream_leaves_when_its_bytes_are_serialised(sender: _Senders, how: str) -> None:
    waits = _waits(sender, how, Toxic("bandwidth", {"rate": RATE_KBPS}))
    rate = RATE_KBPS * 1000
    for k in range(1, SIZE // QUANTUM + 1):
        assert k * QUANTUM / rate in waits, f"no piece ended at offset {k * QUANTUM}"
    assert max(waits) == SIZE / rate
    assert waits == sorted(waits)


def test_bytes_that_arrived_together_leave_in_one_piece_per_quantum(sender: _Senders) -> None:
    waits = _waits(sender, "at-once", Toxic("bandwidth", {"rate": RATE_KBPS}), settle=True)
    # One instant per offset and the end; and one more where the first run the writer took ended (it took what was
    # queued when it began, before the rest had arrived).
    assert len(set(waits)) <= SIZE // QUANTUM + 2


def test_latency_alone_sends_what_is_at_hand_at_once(sender: _Senders) -> None:
    waits = _waits(sender, "at-once", Toxic("latency", {"latency": 250, "jitter": 0}), settle=True)
    assert set(waits) == {0.25}
    assert len(waits) < SIZE // QUANTUM



def test_declared_content_weighs_in_full_and_the_rest_at_the_protocol_weight(sender: _Senders) -> None:
    """At scale 100 (weight 0.01): 5,000 bytes of headers and handshake weigh 50; the content all it is."""
    rate = RATE_KBPS * 1000
    undeclared = _waits(sender, "at-once", Toxic("bandwidth", {"rate": RATE_KBPS}), protocol_weight=0.01)
    assert max(undeclared) == pytest.approx(SIZE * 0.01 / rate, rel=1e-12)
    declared = _waits(sender, "at-once", Toxic("bandwidth", {"rate": RATE_KBPS}), protocol_weight=0.01,
                      content=SIZE - 5000)
    assert max(declared) == pytest.approx((SIZE - 5000 + 5000 * 0.01) / rate, rel=1e-12)


def test_content_is_declared_only_for_a_connection_the_proxy_carries(sender: _Senders) -> None:
    """Named by both ends: the same local port may serve a connection towards another service at once."""
    with FaultProxy("storage", sender.address, time=_StillTime()) as proxy:
        assert not proxy.declare_content("127.0.0.1:1", sender.address, 1000)
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
            sock.sendall(b"?")
            peer = sender.peers.get(timeout=10)
            assert not proxy.declare_content(peer, "127.0.0.1:1", 1000)
            assert proxy.declare_content(peer, sender.address, 1000)
            sock.sendall(b"at-once")
        with pytest.raises(ValueError, match="0 or more"):
            proxy.declare_content("127.0.0.1:1", sender.address, -1)

"""How a shaped link spends time: the proxy's clock (`ProxyTime`), a link's serialisation (`Pacer`), and the
sizes and rates the fault proxy's directions work with. Nothing here does I/O."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.net.connection import Applied

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


class Pacer:
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


def link_rate(chain: tuple[Applied, ...]) -> float:
    """Bytes/s of the slowest bandwidth toxic; 0 when unshaped (rate 0 is unlimited, as in Toxiproxy)."""
    rates = [a.toxic.attributes["rate"] * 1000 for a in chain if a.toxic.type == "bandwidth"]
    return min((r for r in rates if r > 0), default=0)


def hold_limit(chain: tuple[Applied, ...], latency: float) -> int:
    rate = link_rate(chain)
    if latency <= 0:
        return QUEUE_BYTES
    in_flight = rate * latency if rate else MAX_IN_FLIGHT
    return min(MAX_IN_FLIGHT, QUEUE_BYTES + int(in_flight))


def data_limited(applied: Applied, data: bytes) -> tuple[bytes, bool]:
    allowed = max(0, applied.toxic.attributes["bytes"] - applied.sent)
    data = data[:allowed]
    applied.sent += len(data)
    return data, applied.sent >= applied.toxic.attributes["bytes"]


def quanta(piece: memoryview, rate: float, quantum: float | None) -> Iterator[memoryview]:
    if not rate or quantum is None:
        yield piece
        return
    size = max(1, int(rate * quantum))
    for offset in range(0, len(piece), size):
        yield piece[offset:offset + size]

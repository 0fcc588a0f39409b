"""One direction of a proxied connection: a reader that admits what arrives through the toxics, and a writer that
releases it when the link says (latency, bandwidth, slicer)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import socket
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from harness.net.pacing import (
    QUEUE_BYTES,
    READ_SIZE,
    YIELD_EVERY_READS,
    Pacer,
    ProxyTime,
    data_limited,
    hold_limit,
    link_rate,
    quanta,
)
from harness.net.toxics import Toxic

if TYPE_CHECKING:
    from harness.net.connection import Applied, Connection

Stream = Literal["upstream", "downstream"]


@dataclass
class Item:
    arrival: float  # when the proxy read it, on the proxy's clock
    latency: float = 0.0  # the one-way delay drawn for it (jitter included)
    data: bytes = b""
    kind: Literal["data", "eof", "close"] = "data"


class Direction:
    """One direction of a connection: a reader that admits chunks, a writer that releases them on time.

    With no toxics and nothing held back, the reader writes straight through (the unshaped fast path).
    """

    def __init__(self, connection: Connection, stream: Stream, source: socket.socket,
                 destination: socket.socket) -> None:
        self._connection = connection
        self._stream = stream
        self._source = source
        self._destination = destination
        self._items: deque[Item] = deque()
        self._held = 0  # bytes queued or being written by the writer
        self._limit = connection.time.hold_limit or QUEUE_BYTES
        self._pending = 0  # items queued or being written
        self._last_due = -math.inf  # when the last piece left: nothing leaves before it
        self._ready_at = -math.inf  # when the writer was ready for the next piece: on schedule, or after a reader
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._pacer = Pacer()
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
                await self._enqueue(Item(self._connection.time.now(), kind="eof"))
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
                                    Item(item.arrival, item.latency, b"".join(i.data for i in together)))
            for done in together:
                self._written(done)

    def _together(self, first: Item) -> list[Item]:
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

    async def _admit(self, data: bytes, chain: tuple[Applied, ...], now: float) -> bool:
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
                data, limited = data_limited(applied, data)
            elif kind == "latency":
                latency += self._delay(applied.toxic)
        self._limit = self._connection.time.hold_limit or hold_limit(chain, latency)
        if data:
            await self._enqueue(Item(now, latency, data))
        if limited:
            await self._enqueue(Item(now, latency, kind="close"))
        return not limited

    def _delay(self, toxic: Toxic) -> float:
        jitter = toxic.attributes["jitter"]
        spread = self._connection.rng.randint(-jitter, jitter) if jitter else 0
        return max(0, toxic.attributes["latency"] + spread) / 1000

    async def _send_shaped(self, item: Item) -> None:
        """Each piece leaves when the link has serialised it (bandwidth: from when it arrived, or when the link
        was free) and it has crossed the link (latency); a slicer's pause keeps the link busy. The schedule is
        kept against when bytes arrived, never against when the proxy got round to them, so bytes the proxy read
        late because its own queue was full leave exactly when they would have."""
        chain = self._connection.chain(self._stream)
        slicer = next((a.toxic for a in chain if a.toxic.type == "slicer"), None)
        rate = link_rate(chain)
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
            yield from quanta(data, rate, time.quantum)
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

    async def _enqueue(self, item: Item) -> None:
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

    async def _dequeue(self) -> Item:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def _written(self, item: Item) -> None:
        self._held -= len(item.data)
        self._pending -= 1
        if self._held <= self._limit:
            self._room.set()

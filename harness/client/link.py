"""A client's network link: bandwidth and latency in model units, on everything that client sends and receives.

Clients share one agent process and reach services by name, so a client's link cannot be a proxy in front of a
service (`harness.net.proxy`); it is a layer on the client's own HTTP transport. `LinkTransport` wraps the transport
the client's httpx client sends through; without a `LinkProfile` it passes requests straight on.

What a link does (ideas from the fault proxy's toxics; bandwidth is unchanged by the scale, durations are divided):
- latency is the round trip, what ping reports, added once per request before it leaves (± jitter, uniform, drawn
  from the link's seed, never from timing). Connection set-up costs no extra round trips;
- bandwidth: response bodies reach the client at the downstream rate and request bodies leave at the upstream rate
  (if one is set), paced against the clock (`Pacer`), so late wake-ups are made up and a transfer holds its rate.
  One pacer per direction per link: transfers at the same time share the link.

Content and protocol bytes: a content body (a request marked with the `CONTENT` extension: a blob or a DP file)
is scaled down, each physical byte standing for `scale` model bytes; a protocol message (policy, a location reply,
a manifest) is its real size at every scale. The link paces model bytes, so a 4 KB reply takes the 1.6 model
milliseconds it takes on a real 20 Mbit/s link, and a 3.2 GB package its 1280 seconds.

What it does not: headers are not paced.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.clock.model_clock import ModelClock
from harness.model.units import Scale, parse_bandwidth, parse_duration

# A paced transfer is released in pieces of this much of the link's time, so 8 Mbit/s trickles rather than bursts.
QUANTUM_SECONDS = 0.005
# How far behind the clock a transfer may fall and still catch up. Lag here is the emulation's (a wait that ends
# late, another process or thread on the CPU), which the scale would magnify in model time. With both cores of a
# 2-core machine busy, 20 ms (the fault proxy's) lost up to 5 % of a 2 MB transfer; 100 ms, under 1 %.
CATCH_UP_SECONDS = 0.1
_BYTES_PER_MBIT = 125_000
# A request extension: its body (either way) is content, scaled down by the environment's scale.
CONTENT = "cmg_harness.content"
_FIELDS = ("down", "up", "latency", "jitter")


@dataclass(frozen=True)
class LinkProfile:
    """A link in model units: Mbit/s down and (if set) up, round-trip latency and its jitter in model seconds."""

    down_mbit: float
    up_mbit: float | None = None  # None: what the client sends is not shaped
    latency_s: float = 0.0
    jitter_s: float = 0.0

    def __post_init__(self) -> None:
        _check_rate("down", self.down_mbit)
        if self.up_mbit is not None:
            _check_rate("up", self.up_mbit)
        for name, value in (("latency", self.latency_s), ("jitter", self.jitter_s)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"link {name} must be 0 or more model seconds, not {value!r}")

    @classmethod
    def parse(cls, down: str, *, up: str | None = None, latency: str = "0 s", jitter: str = "0 s") -> LinkProfile:
        """From model units as features speak them: `LinkProfile.parse("20 Mbit/s", latency="80 ms")`."""
        return cls(parse_bandwidth(down), None if up is None else parse_bandwidth(up), parse_duration(latency),
                   parse_duration(jitter))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LinkProfile:
        """`{"down", "up", "latency", "jitter"}`: strings in model units ("20 Mbit/s", "80 ms") or numbers (Mbit/s,
        model seconds); only "down" is required. Raises ValueError naming the field that is wrong."""
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise ValueError(f"link: unknown field {unknown[0]!r}; expected {', '.join(_FIELDS)}")
        if data.get("down") is None:
            raise ValueError("link: 'down' (the download bandwidth, e.g. \"20 Mbit/s\") is required")
        down = _quantity(data, "down", parse_bandwidth)
        up = None if data.get("up") is None else _quantity(data, "up", parse_bandwidth)
        return cls(down, up, _quantity(data, "latency", parse_duration), _quantity(data, "jitter", parse_duration))

    def to_json(self) -> dict[str, float | None]:
        """Numbers under `from_json`'s names: Mbit/s and model seconds."""
        return {"down": self.down_mbit, "up": self.up_mbit, "latency": self.latency_s, "jitter": self.jitter_s}

    def describe(self) -> str:
        """'20 Mbit/s down, up not shaped, 80 ms round-trip latency'."""
        up = f"{self.up_mbit:g} Mbit/s up" if self.up_mbit is not None else "up not shaped"
        latency = f"{_duration_text(self.latency_s)} round-trip latency"
        if self.jitter_s:
            latency += f" ± {_duration_text(self.jitter_s)} jitter"
        return f"{self.down_mbit:g} Mbit/s down, {up}, {latency}"


class Pacer:
    """One direction of a link: a piece is released when the link would have finished carrying it.

    Kept against the clock rather than slept per piece: the link owes what its rate carries in the time elapsed,
    so a sleep that ends late is made up by the next pieces (all of it; time the reader itself spends elsewhere
    up to CATCH_UP_SECONDS, and never earlier than the transfer began: idle time between transfers is no
    credit). A source slower than the link sets the pace; after a stall of the source, up to CATCH_UP_SECONDS
    of the link's rate may pass at once.
    Thread-safe; transfers at the same time share the rate.
    """

    def __init__(self, mbit_per_s: float, *, clock: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep, quantum: float | None = QUANTUM_SECONDS) -> None:
        """`quantum`: seconds of the link's time per piece; None releases each chunk whole (on a virtual clock,
        where a wait costs a message to the clock authority and nothing is gained by trickling)."""
        _check_rate("pacer", mbit_per_s)
        self.bytes_per_second = mbit_per_s * _BYTES_PER_MBIT
        self._clock = clock
        self._sleep = sleep
        self._quantum = quantum
        self._free_at = -math.inf  # when the link has carried everything handed to it so far
        self._late = 0.0  # how late the last sleep ended
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._clock()

    def paced(self, chunks: Iterable[bytes], started: float | None = None, weight: float = 1.0) -> Iterator[bytes]:
        """`chunks` as the link delivers them: in pieces, each once the link has carried it. The transfer starts
        at `started` (the pacer's `now()`), or when the first chunk is there. `weight`: what a byte costs the link
        (1 for content; 1 / scale for a protocol message, whose physical bytes are its model bytes)."""
        for chunk in chunks:
            if started is None:
                started = self._clock()
            for piece in self._pieces(chunk):
                self._wait(len(piece) * weight, started)
                yield piece

    def _pieces(self, chunk: bytes) -> Iterator[bytes]:
        if self._quantum is None:
            yield chunk
            return
        size = max(1, int(self.bytes_per_second * self._quantum))
        view = memoryview(chunk)
        for offset in range(0, len(chunk), size):
            yield bytes(view[offset:offset + size])

    def _wait(self, size: float, started: float) -> None:
        with self._lock:
            now = self._clock()
            # A sleep that ended late is the machine's delay, not the reader's: the pieces after it make it all up.
            begin = max(self._free_at, started, now - CATCH_UP_SECONDS - self._late)
            self._free_at = due = begin + size / self.bytes_per_second
            delay = due - now
        if delay > 0:
            self._sleep(delay)
            with self._lock:
                self._late = max(0.0, self._clock() - due)


class LinkTransport(httpx.BaseTransport):
    """A client's transport behind its link. `profile` can change at any time; requests that start afterwards use
    the new one, transfers under way finish at the old rate. Without a profile, requests pass straight through."""

    def __init__(self, inner: httpx.BaseTransport, scale: Scale, *, seed: object = 0,
                 profile: LinkProfile | None = None, timing: LinkTiming | None = None) -> None:
        self._inner = inner
        self._scale = scale
        self._seed = seed
        self._timing = timing or LinkTiming()
        self._revisions = itertools.count()
        self._link: _Link | None = None
        self.profile = profile

    @property
    def profile(self) -> LinkProfile | None:
        link = self._link
        return None if link is None else link.profile

    @profile.setter
    def profile(self, profile: LinkProfile | None) -> None:
        # Each profile draws its jitter afresh from the seed, as a Toxiproxy update rolls afresh.
        rng = random.Random(f"{self._seed}/{next(self._revisions)}")
        self._link = None if profile is None else _Link(profile, self._scale, rng, self._timing)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        link = self._link  # one profile for the whole request, whatever happens meanwhile
        if link is None:
            return self._inner.handle_request(request)
        round_trip = link.round_trip()
        if round_trip > 0:
            self._timing.sleep(round_trip)
        weight = 1.0 if request.extensions.get(CONTENT) else 1 / self._scale.factor
        response = self._inner.handle_request(link.upload(request, weight))
        return link.download(response, weight)

    def close(self) -> None:
        self._inner.close()


@dataclass(frozen=True)
class LinkTiming:
    """The clock a link keeps, on the physical timescale (model seconds / scale): real time by default; a virtual
    model clock's physical view on a virtual clock, where a wait is the run's sleep at the clock authority."""

    now: Callable[[], float] = time.perf_counter
    sleep: Callable[[float], None] = time.sleep
    quantum: float | None = QUANTUM_SECONDS

    @classmethod
    def of(cls, clock: ModelClock) -> LinkTiming:
        if clock.mode == "real":
            return cls()
        return cls(clock.physical_now, clock.physical_sleep, quantum=None)


def link_layer(scale: Scale, *, seed: object = 0, profile: LinkProfile | None = None,
               timing: LinkTiming | None = None) -> tuple[Callable[[httpx.BaseTransport], httpx.BaseTransport],
                                                          Callable[[], LinkTransport]]:
    """(wrap, get): pass `wrap` to harness.net.http.make_client; `get()` then returns the client's LinkTransport
    (set its `profile` to change the link)."""
    made: list[LinkTransport] = []

    def wrap(transport: httpx.BaseTransport) -> httpx.BaseTransport:
        made.append(LinkTransport(transport, scale, seed=seed, profile=profile, timing=timing))
        return made[-1]

    return wrap, lambda: made[-1]


@dataclass
class _Link:
    """One profile in force: its pacers (bytes/s of real time) and its jitter draws."""

    profile: LinkProfile
    scale: Scale
    rng: random.Random
    timing: LinkTiming
    down: Pacer = field(init=False)
    up: Pacer | None = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.down = self._pacer(self.profile.down_mbit)
        self.up = None if self.profile.up_mbit is None else self._pacer(self.profile.up_mbit)

    def _pacer(self, mbit_per_s: float) -> Pacer:
        timing = self.timing
        return Pacer(mbit_per_s, clock=timing.now, sleep=timing.sleep, quantum=timing.quantum)

    def round_trip(self) -> float:
        """Real seconds this request's round trip adds."""
        jitter = self.profile.jitter_s
        with self._lock:
            spread = self.rng.uniform(-jitter, jitter) if jitter else 0.0
        return self.scale.real_seconds(max(0.0, self.profile.latency_s + spread))

    def upload(self, request: httpx.Request, weight: float = 1.0) -> httpx.Request:
        if self.up is None:
            return request
        # Passing `stream=` keeps the headers exactly as they are (Content-Length included).
        stream = _PacedStream(_sync(request.stream), self.up, self.up.now(), weight)
        return httpx.Request(request.method, request.url, headers=request.headers, stream=stream,
                             extensions=request.extensions)

    def download(self, response: httpx.Response, weight: float = 1.0) -> httpx.Response:
        """The body's transfer starts with the headers: a server slow to its first byte, or a reader slow to read,
        is made up (up to CATCH_UP_SECONDS), as a link carries what a server sent while nobody read."""
        stream = _PacedStream(_sync(response.stream), self.down, self.down.now(), weight)
        return httpx.Response(response.status_code, headers=response.headers, stream=stream,
                              extensions=response.extensions)


class _PacedStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, pacer: Pacer, started: float, weight: float) -> None:
        self._inner = inner
        self._pacer = pacer
        self._started = started
        self._weight = weight

    def __iter__(self) -> Iterator[bytes]:
        yield from self._pacer.paced(self._inner, self._started, self._weight)

    def close(self) -> None:
        self._inner.close()


def _sync(stream: httpx.SyncByteStream | httpx.AsyncByteStream) -> httpx.SyncByteStream:
    if not isinstance(stream, httpx.SyncByteStream):
        raise TypeError(f"a client link shapes sync transports only, not a {type(stream).__name__}")
    return stream


def _quantity(data: Mapping[str, Any], name: str, parse: Callable[[str], float]) -> float:
    value = data.get(name)
    if value is None:
        return 0.0
    if isinstance(value, str):
        try:
            return parse(value)
        except ValueError as error:
            raise ValueError(f"link {name}: {error}") from None
    # bool is an int in Python, but `true` is no bandwidth.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"link {name} must be a string in model units or a number, not {value!r}")
    return float(value)


def _check_rate(name: str, mbit_per_s: float) -> None:
    if not (math.isfinite(mbit_per_s) and mbit_per_s > 0):
        raise ValueError(f"link {name} bandwidth must be a positive number of Mbit/s, not {mbit_per_s!r}")


def _duration_text(seconds: float) -> str:
    return f"{seconds * 1000:g} ms" if seconds < 1 else f"{seconds:g} s"

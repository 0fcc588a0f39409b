"""The CMG's documented capacity and cost rules, as pure bookkeeping in model time (seconds since an epoch).

Sources: CMG performance and scale,
https://learn.microsoft.com/en-us/mem/configmgr/core/clients/manage/cmg/perf-scale, and Monitor the CMG,
https://learn.microsoft.com/en-us/mem/configmgr/core/clients/manage/cmg/monitor-clients-cloud-management-gateway.

- **Clients per VM**: one CMG has 1 to 16 VM instances; each carries a number of concurrent clients that depends
  on its size — 6,000 for the classic cloud service and for Standard A2_v2, 2,000 for a VM scale set in versions
  2010 and 2103 with a CSP subscription, 10 for Lab (B2s) and 10,000 for Large (A4_v2). Over capacity "it still
  handles requests but there may be delay": the harness delays, it never refuses.
- **One file from Azure storage**: "The Azure storage service supports 500 requests per second for a single
  file". [INFERENCE] The harness spaces requests for one blob 1/500 s apart rather than answer 503: the page
  describes throughput, not an error.
- **Egress**: the 14-day outbound data threshold (default 10,000 GB), its critical level at 90 %, checked every
  six minutes; with "Stop this service when the critical threshold is exceeded" on, the first check past it stops
  the CMG, and internet clients can no longer reach it. What counts is everything the CMG sends out: to clients,
  to the site, and from its storage account to clients.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field
from enum import Enum

MAX_VMS = 16
CHECK_EVERY_S = 6 * 60
EGRESS_WINDOW_S = 14 * 24 * 3600
DEFAULT_THRESHOLD_BYTES = 10_000 * 10**9  # 10,000 GB
CRITICAL = 0.9
FILE_REQUESTS_PER_S = 500


class VmSize(Enum):
    """A CMG VM size, in the console's words, and the concurrent clients one VM of it carries."""

    CLASSIC = ("Cloud service (classic)", 6000)
    CSP_SCALE_SET = ("Virtual machine scale set (CSP, 2010 and 2103)", 2000)
    LAB_B2S = ("Lab (B2s)", 10)
    STANDARD_A2_V2 = ("Standard (A2_v2)", 6000)
    LARGE_A4_V2 = ("Large (A4_v2)", 10000)

    def __init__(self, words: str, clients: int) -> None:
        self.words = words
        self.clients = clients

    @classmethod
    def parse(cls, text: str) -> VmSize:
        for size in cls:
            if text.strip().lower() in (size.words.lower(), size.name.lower()):
                return size
        raise ValueError(f"unknown CMG VM size {text!r}: one of {', '.join(s.words for s in cls)}")


def client_capacity(size: VmSize, vms: int) -> int:
    """How many concurrent clients a CMG of `vms` VMs of `size` carries without delay."""
    if not 1 <= vms <= MAX_VMS:
        raise ValueError(f"a CMG has 1 to {MAX_VMS} VM instances, not {vms}")
    return size.clients * vms


DEFAULT_REQUEST_S = 1.0


@dataclass
class Places:
    """The CMG's places for clients: `capacity` requests in service at once, each for `request_s` model seconds.

    [INFERENCE] The page gives clients per VM and says only that there "may be delay" over capacity. The harness
    reads a client's place as a request in service, which holds it for `request_s` (the relay to the management
    point and back); a request that finds every place taken waits for the first to free, in arrival order."""

    capacity: int
    request_s: float = DEFAULT_REQUEST_S
    _busy_until: list[float] = field(default_factory=list)  # a heap: when each taken place frees

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.request_s < 0:
            raise ValueError(f"places need a capacity of at least 1 and no negative time: {self}")

    def admit(self, at: float, count: int = 1) -> list[float]:
        """`count` clients' requests arrive at `at`; each one's answer is done this long after `at`."""
        if count < 1:
            raise ValueError(f"count must be at least 1, not {count}")
        busy = self._busy_until
        while busy and busy[0] <= at:
            heapq.heappop(busy)
        done = []
        for _ in range(count):
            start = at if len(busy) < self.capacity else heapq.heappop(busy)
            heapq.heappush(busy, start + self.request_s)
            done.append(start + self.request_s - at)
        return done

    def in_service(self, at: float) -> int:
        return sum(1 for until in self._busy_until if until > at)


@dataclass
class FileRequests:
    """Requests for one blob, spaced 1/`per_second` apart: when each may start."""

    per_second: float = FILE_REQUESTS_PER_S
    _next_free: float = -math.inf

    def admit(self, at: float, count: int = 1) -> float:
        """`count` requests arrive at `at`; returns when the last of them starts."""
        if count < 1:
            raise ValueError(f"count must be at least 1, not {count}")
        first = max(at, self._next_free)
        self._next_free = first + count / self.per_second
        return first + (count - 1) / self.per_second


@dataclass
class SharedEgress:
    """The CMG's content egress as one link all its clients' downloads share, in model bytes: each download waits
    for those before it and then goes at the whole rate (first come, first served). The aggregate never exceeds
    `bytes_per_second`, however many connections there are.

    [INFERENCE] The documentation gives no figure for a CMG's outbound bandwidth; a scenario sets one when the
    question is about it (None: no limit)."""

    bytes_per_second: float | None = None
    _free_at: float = -math.inf

    def send(self, at: float, sizes: list[int]) -> list[float]:
        """Downloads of `sizes` model bytes that may start at `at` (each, in order); when each one ends."""
        if self.bytes_per_second is None:
            return [at] * len(sizes)
        ends = []
        for size in sizes:
            start = max(at, self._free_at)
            self._free_at = start + size / self.bytes_per_second
            ends.append(self._free_at)
        return ends


@dataclass
class EgressMeter:
    """The CMG's outbound bytes over the last 14 days, checked against its threshold every six minutes."""

    threshold_bytes: int = DEFAULT_THRESHOLD_BYTES
    stop_at_critical: bool = False  # "Stop this service when the critical threshold is exceeded"
    critical: float = CRITICAL
    _sent: deque[tuple[float, int]] = field(default_factory=deque)
    stopped_at: float | None = None  # model time of the check that stopped the CMG
    _checked: float = 0.0  # checks up to here have run

    def __post_init__(self) -> None:
        if self.threshold_bytes <= 0 or not 0 < self.critical <= 1:
            raise ValueError("the threshold must be above 0 bytes and its critical level in (0, 1]")

    def record(self, at: float, sent: int) -> None:
        """`sent` bytes left the CMG (to a client, to the site, or from its storage to a client) at `at`."""
        if sent < 0:
            raise ValueError(f"sent bytes cannot be negative: {sent}")
        if self._sent and at < self._sent[-1][0]:
            raise ValueError(f"egress recorded out of order: {at} after {self._sent[-1][0]}")
        self._sent.append((at, sent))

    def total(self, at: float) -> int:
        """Bytes sent in the 14 days up to `at`."""
        while self._sent and self._sent[0][0] <= at - EGRESS_WINDOW_S:
            self._sent.popleft()
        return sum(sent for when, sent in self._sent if when <= at)

    def checks_until(self, until: float, since: float = 0.0) -> list[float]:
        """The six-minute checks after `since` up to `until` (model seconds from the epoch)."""
        first = math.floor(since / CHECK_EVERY_S) + 1
        return [n * CHECK_EVERY_S for n in range(first, math.floor(until / CHECK_EVERY_S) + 1)]

    def advance(self, to: float) -> bool:
        """Runs the checks due up to `to`, each on the bytes sent by its own time; whether the CMG is stopped."""
        for at in self.checks_until(to, since=self._checked):
            if self.stopped_at is None and self.stop_at_critical and self.total(at) >= self.critical_bytes:
                self.stopped_at = at
        self._checked = max(self._checked, to)
        return self.stopped_at is not None

    @property
    def critical_bytes(self) -> float:
        return self.critical * self.threshold_bytes

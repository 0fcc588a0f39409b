"""A fleet: thousands of clients of a deployment, started in waves, and what their runs add up to.

Pure: the population (who starts when, of which kind), the cohorts a run groups them into, and the figures a
scenario asserts on (percentiles, the series the report draws). Times are model seconds from the fleet's start.

- **Waves.** "10,000 internet clients, in waves of 2,000 every 30 minutes": wave w (from 0) starts at
  w × 30 minutes; its clients start over its `spread` (0: all at once), at seeded uniform times. [INFERENCE] The
  product starts an available deployment when each client next evaluates its policy; a wave stands for a
  collection made available at once, and the spread for the clients' policy polling.
- **Mix.** Shares of client kinds (internet or intranet, PKI or token); each client's kind is drawn with the
  fleet's seed, so the same seed gives the same fleet.
- **Cohorts.** Clients of one kind that start in the same tick follow the same path through the same services
  at the same time; a run may carry them as one cohort, whose requests stand for all of them (the services count
  each member). `cohorts` groups them, never more than `limit` cohorts: when there would be more, the tick grows.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

NETWORKS = ("internet", "intranet")
AUTHS = ("pki", "token")


@dataclass(frozen=True, order=True)
class ClientKind:
    network: str = "internet"
    auth: str = "pki"

    def __post_init__(self) -> None:
        if self.network not in NETWORKS or self.auth not in AUTHS:
            raise ValueError(f"a client is {' or '.join(NETWORKS)}, and {' or '.join(AUTHS)}: "
                             f"not {self.network} {self.auth}")

    def describe(self) -> str:
        return f"{self.network} {self.auth.upper() if self.auth == 'pki' else self.auth}"


@dataclass(frozen=True)
class Waves:
    size: int  # clients a wave
    every_s: float  # between the starts of two waves
    spread_s: float = 0.0  # a wave's clients start over this long

    def __post_init__(self) -> None:
        if self.size < 1 or self.every_s < 0 or self.spread_s < 0:
            raise ValueError(f"waves need at least 1 client and no negative time: {self}")


@dataclass(frozen=True)
class Population:
    clients: int
    waves: Waves
    mix: tuple[tuple[ClientKind, float], ...] = ((ClientKind(), 1.0),)
    seed: int = 0
    prefix: str = "FLEET"

    def __post_init__(self) -> None:
        if not 1 <= self.clients <= 1_000_000:
            raise ValueError(f"a fleet has 1 to 1,000,000 clients, not {self.clients}")
        total = sum(share for _, share in self.mix)
        if not self.mix or any(share <= 0 for _, share in self.mix) or not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"the mix's shares must be above 0 and add up to 100 %, not {total:.1%}")

    @property
    def wave_count(self) -> int:
        return math.ceil(self.clients / self.waves.size)


@dataclass(frozen=True)
class PlannedClient:
    name: str
    kind: ClientKind
    wave: int
    start_s: float


def plan(population: Population) -> list[PlannedClient]:
    """Every client of the fleet, in start order (then by name)."""
    draw = random.Random(population.seed)
    kinds = [kind for kind, _ in population.mix]
    weights = [share for _, share in population.mix]
    width = len(str(population.clients))
    clients = []
    for index in range(population.clients):
        wave = index // population.waves.size
        offset = draw.uniform(0, population.waves.spread_s) if population.waves.spread_s else 0.0
        kind = draw.choices(kinds, weights)[0] if len(kinds) > 1 else kinds[0]
        clients.append(PlannedClient(f"{population.prefix}{index + 1:0{width}d}", kind, wave,
                                     wave * population.waves.every_s + offset))
    return sorted(clients, key=lambda c: (c.start_s, c.name))


@dataclass(frozen=True)
class Cohort:
    kind: ClientKind
    start_s: float  # the tick its members start in (its first member's start)
    members: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.members)


def cohorts(clients: Sequence[PlannedClient], *, tick_s: float = 1.0, limit: int = 2000) -> list[Cohort]:
    """The clients grouped by kind and start tick: at most `limit` cohorts (the tick doubles until they fit)."""
    if tick_s <= 0 or limit < 1:
        raise ValueError("a cohort's tick must be above 0 s and there must be room for at least one cohort")
    while True:
        groups: dict[tuple[int, ClientKind], list[PlannedClient]] = {}
        for client in clients:
            groups.setdefault((math.floor(client.start_s / tick_s), client.kind), []).append(client)
        if len(groups) <= limit:
            return sorted((Cohort(kind, members[0].start_s, tuple(m.name for m in members))
                           for (_, kind), members in groups.items()), key=lambda c: (c.start_s, c.kind))
        tick_s *= 2


# -- what a fleet's runs add up to ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ClientOutcome:
    """One client's run, in model seconds from the fleet's start."""

    name: str
    kind: ClientKind
    start_s: float
    step_start_s: float | None  # when the upgrade step began its work; None if it never did
    end_s: float
    downloaded_bytes: int = 0  # model bytes
    cmg_wait_s: float = 0.0  # the CMG's answers' time: its places, and any wait for one
    error: str | None = None  # the run's exit code, when it failed
    content_s: float | None = None  # when its content began to come

    @property
    def upgrade_after_s(self) -> float | None:
        return None if self.step_start_s is None else self.step_start_s - self.start_s


def percentile(values: Iterable[float], percent: float) -> float:
    """The nearest-rank percentile: the smallest value at least `percent` % of the values are at or below."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values to take a percentile of")
    if not 0 < percent <= 100:
        raise ValueError(f"a percentile is above 0 and at most 100, not {percent}")
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def share_within(values: Sequence[float | None], limit_s: float) -> float:
    """The share of `values` (None: never happened) at or below `limit_s`."""
    return sum(1 for v in values if v is not None and v <= limit_s) / len(values) if values else 0.0


@dataclass(frozen=True)
class Series:
    """A step function of model time: (time, value) points, each value holding until the next point."""

    points: tuple[tuple[float, float], ...] = field(default_factory=tuple)

    @property
    def peak(self) -> float:
        return max((v for _, v in self.points), default=0.0)


def concurrent(intervals: Iterable[tuple[float, float]]) -> Series:
    """How many of the (start, end) intervals are open at each moment: +1 at a start, −1 at an end."""
    events: dict[float, int] = {}
    for start, end in intervals:
        if end < start:
            raise ValueError(f"an interval ends before it starts: {start} to {end}")
        events[start] = events.get(start, 0) + 1
        events[end] = events.get(end, 0) - 1
    level, points = 0, []
    for at in sorted(events):
        level += events[at]
        points.append((at, float(level)))
    return Series(tuple(points))


def cumulative(amounts: Iterable[tuple[float, float]]) -> Series:
    """The running total of (time, amount) pairs."""
    total, points = 0.0, []
    for at, amount in sorted(amounts):
        total += amount
        points.append((at, total))
    return Series(tuple(points))

"""Is the emulated world quiet? The authority's question before it moves model time past a call in flight.

Every process of the world answers with a `Report`: what in it is busy (a request a service is handling, a
proxy's loop with work queued, a run computing) and, for each TCP socket it owns, the kernel's byte counters
(`harness.clock.sockets`) and whether it will read what arrives there without waiting on the clock. The world is
quiet when nothing is busy and no byte is on its way to a socket whose owner is reading: what one end of each
connection wrote is exactly what the other end took (or the taker waits on the clock, as a proxy holding bytes
back does, or a run asleep in the middle of a download).

Counts, not timing: a byte in a kernel buffer, in a loopback queue or in a process's own send buffer shows as
a difference between two counters, however late the reports are taken, so a busy machine cannot make this say
"quiet" early. A connection with one end outside the world (a scenario's driver, Azurite behind the storage
front) is left to the busy state of the end inside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.clock.sockets import Counters


@dataclass(frozen=True)
class SocketReport:
    counters: Counters
    reading: bool  # the owner reads what arrives without waiting on the clock
    pending: bool = False  # the owner has bytes to write that are not in the kernel yet

    def to_json(self) -> dict[str, Any]:
        c = self.counters
        return {"local": c.local, "peer": c.peer, "out": c.out, "taken": c.taken, "state": c.state,
                "reading": self.reading, "pending": self.pending}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SocketReport:
        counters = Counters(str(data["local"]), str(data["peer"]), int(data["out"]), int(data["taken"]),
                            int(data["state"]))
        return cls(counters, bool(data["reading"]), bool(data.get("pending", False)))


@dataclass(frozen=True)
class Report:
    party: str  # "site", "network", "client", ...
    busy: list[str] = field(default_factory=list)  # what is busy, in words; empty when quiet
    sockets: list[SocketReport] = field(default_factory=list)
    # The party's actors that wait on I/O, each with the count of wake-ups it has seen released to it: an actor
    # counts as waiting only if it has seen the last one (else its wake-up is still on its way to it).
    waiting: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"party": self.party, "busy": self.busy, "sockets": [s.to_json() for s in self.sockets],
                "waiting": self.waiting}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        return cls(str(data["party"]), [str(b) for b in data.get("busy", [])],
                   [SocketReport.from_json(s) for s in data.get("sockets", [])],
                   {str(k): int(v) for k, v in data.get("waiting", {}).items()})


def unquiet(reports: Iterable[Report], busy_actors: dict[str, int] | None = None) -> list[str]:
    """Why the world is not quiet, one reason a line; empty when it is. `busy_actors`: the actors the authority
    counts as busy (name -> wake-ups released to it); each must be reported waiting on I/O, up to date."""
    reports = list(reports)
    reasons = [f"{report.party}: {what}" for report in reports for what in report.busy]
    waiting = {name: seen for report in reports for name, seen in report.waiting.items()}
    reasons += [f"{name} is busy" for name, released in (busy_actors or {}).items() if waiting.get(name) != released]
    ends = {(s.counters.local, s.counters.peer): (report.party, s) for report in reports for s in report.sockets}
    for (local, peer), (party, end) in sorted(ends.items()):
        other = ends.get((peer, local))
        if other is None or not end.reading:
            continue
        sender = other[1]
        if sender.counters.out != end.counters.taken or sender.pending:
            reasons.append(f"{party}: bytes on their way to {local} from {other[0]} at {peer}")
        elif end.counters.peer_closed:
            reasons.append(f"{party}: the end of the stream from {other[0]} at {peer} is still to be read at {local}")
    return reasons


def ready_callbacks(loop: Any) -> int:
    """The callbacks ready to run on `loop` (an asyncio event loop, asked from one of its own callbacks): work it
    has yet to do. asyncio keeps them in `_ready`; its wake-up from another thread (`_read_from_self`, which
    the call asking this question queued) and cancelled ones are no work."""
    wake = getattr(loop, "_read_from_self", None)
    return sum(1 for handle in getattr(loop, "_ready", ())
               if not handle.cancelled() and getattr(handle, "_callback", None) != wake)


def same_picture(first: list[Report], second: list[Report]) -> bool:
    """Two waves of reports show the same world: the same busy work, waiting actors and socket counters."""
    def key(report: Report) -> tuple[object, ...]:
        return (report.party, tuple(sorted(report.busy)), tuple(sorted(report.waiting.items())),
                tuple(sorted((s.counters.local, s.counters.peer, s.counters.out, s.counters.taken, s.counters.state,
                              s.reading, s.pending) for s in report.sockets)))
    return sorted(map(key, first)) == sorted(map(key, second))

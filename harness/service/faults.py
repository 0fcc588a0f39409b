"""HTTP-level faults (DESIGN "Faults"): what a fault does, when it is armed, and the table the control
middleware asks on every product request. No HTTP here: `fault_effects.py` and the middleware apply what
`FaultTable.take` returns, and `fault_json.py` reads the JSON a scenario posts into a `Fault`.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar

DEFAULT_REASON = "fault injected by the harness"
DEFAULT_EVERY_BYTES = 4096


class FaultError(ValueError):
    """Fault JSON the table cannot arm; the message names the field and what it allows."""


# -- what a fault does -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """Answer `status` in the service's place (its handler never runs)."""

    kind: ClassVar[str] = "status"
    status: int
    retry_after_s: int | None = None

    def describe(self, reason: str) -> str:
        return reason  # what the journal has always said for a status fault


@dataclass(frozen=True)
class Delay:
    """Hold the response headers, then let the service's answer through unchanged."""

    kind: ClassVar[str] = "delay"
    delay_s: float

    def describe(self, reason: str) -> str:
        return f"response held {self.delay_s:g} model s ({reason})"


@dataclass(frozen=True)
class Truncate:
    """End the exchange after `after_bytes` of the body; the declared Content-Length stays."""

    kind: ClassVar[str] = "truncate"
    after_bytes: int

    def describe(self, reason: str) -> str:
        return f"body cut after {self.after_bytes} bytes ({reason})"


@dataclass(frozen=True)
class Corrupt:
    """Invert one body byte in every `every_bytes`, from the first: same length, different hash."""

    kind: ClassVar[str] = "corrupt"
    every_bytes: int = DEFAULT_EVERY_BYTES

    def describe(self, reason: str) -> str:
        return f"body corrupted, one byte in every {self.every_bytes} ({reason})"


Effect = Answer | Delay | Truncate | Corrupt
BODY_EFFECTS = (Truncate, Corrupt)


# -- which requests, and when -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Model seconds after the fault was armed: active from `from_s` until just before `until_s`."""

    from_s: float = 0.0
    until_s: float | None = None

    def state(self, elapsed_s: float) -> str:
        if elapsed_s < self.from_s:
            return "waiting"
        return "over" if self.until_s is not None and elapsed_s >= self.until_s else "active"


@dataclass(frozen=True)
class Fault:
    """One armed fault as posted: what it does (`effect`), to which requests, and for how long.

    `count` is how many requests the fault acts on; a request counts only when its path and method match,
    it falls inside the window and the dice (if any) say yes. None: no limit while the window lasts.
    """

    path: str
    effect: Effect
    method: str = "*"
    reason: str = DEFAULT_REASON
    count: int | None = 1
    window: Window | None = None
    probability: float | None = None
    seed: int | None = None

    @property
    def kind(self) -> str:
        return self.effect.kind

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "method": self.method, "kind": self.kind, "reason": self.reason,
                **asdict(self.effect), "count": self.count,
                "window": None if self.window is None else asdict(self.window),
                "probability": self.probability, "seed": self.seed}

    def matches(self, method: str, path: str) -> bool:
        # A HEAD answer has no body: a body fault spent on one would miss the GET that follows.
        if method == "HEAD" and isinstance(self.effect, BODY_EFFECTS):
            return False
        return path.startswith(self.path) and self.method in ("*", method)

    def note(self) -> str:
        return self.effect.describe(self.reason)


@dataclass
class _Armed:
    """A fault in the table, with what it has done so far."""

    id: int
    fault: Fault
    armed_at: datetime
    remaining: int | None
    dice: random.Random | None
    fired: int = 0

    def state(self, now: datetime) -> str:
        if self.fault.window is None:
            return "active"
        return self.fault.window.state((now - self.armed_at).total_seconds())

    def fires(self, now: datetime) -> bool:
        """Whether the fault acts on a matching request now; rolls its dice only inside the window."""
        if self.state(now) != "active":
            return False
        if self.dice is not None and self.dice.random() >= (self.fault.probability or 0.0):
            return False
        self.fired += 1
        if self.remaining is not None:
            self.remaining -= 1
        return True

    def spent(self, now: datetime) -> bool:
        return self.remaining == 0 or self.state(now) == "over"

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {"id": self.id, **self.fault.to_json(), "remaining": self.remaining, "fired": self.fired,
                "state": self.state(now), "armed_at": self.armed_at.isoformat()}


class FaultTable:
    """The armed faults of one service, oldest first. `clock` gives model time (windows are model seconds)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._faults: list[_Armed] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def arm(self, fault: Fault) -> dict[str, Any]:
        """Arms `fault` now; returns its listing entry."""
        now = self._clock()
        dice = None if fault.probability is None else random.Random(fault.seed or 0)
        armed = _Armed(next(self._ids), fault, now, fault.count, dice)
        with self._lock:
            self._faults.append(armed)
        return armed.to_json(now)

    def take(self, method: str, path: str) -> list[Fault]:
        """The faults that act on this request, oldest first, at most one of each kind; spent ones leave."""
        now = self._clock()
        taken: list[Fault] = []
        with self._lock:
            for armed in self._faults:
                kinds = {fault.kind for fault in taken}
                if armed.fault.kind not in kinds and armed.fault.matches(method, path) and armed.fires(now):
                    taken.append(armed.fault)
            self._drop_spent(now)
        return taken

    def armed(self) -> list[dict[str, Any]]:
        """Every fault still armed, with its remaining count, times fired and state (waiting or active)."""
        now = self._clock()
        with self._lock:
            self._drop_spent(now)
            return [armed.to_json(now) for armed in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def _drop_spent(self, now: datetime) -> None:
        self._faults = [armed for armed in self._faults if not armed.spent(now)]

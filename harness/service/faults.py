"""HTTP-level faults (DESIGN "Faults"): what a fault does, when it is armed, and the table the control
middleware asks on every product request. No HTTP here: `fault_effects.py` and the middleware apply what
`FaultTable.take` returns.

The JSON a scenario posts to /_harness/faults:

    common    path (prefix, required), method ("*"), reason, kind ("status")
    arming    count (1; null = unlimited), window {"from_s", "until_s"} (model seconds after arming; until_s
              null = open), probability (0..1) with seed (int, default 0)
    status    status (400-599, required), retry_after_s (whole model seconds; with 429 or 503 only)
    delay     delay_s (model seconds the response headers are held, required)
    truncate  after_bytes (bytes of the body sent before the exchange ends, required)
    corrupt   every_bytes (one body byte in every N inverted, the first included; default 4096)

Byte counts are bytes on the wire, not model bytes: the fault acts on the HTTP body as it is sent, and a
reply of a few hundred bytes must be cut where the scenario says. Times are model seconds, as everywhere.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar

DEFAULT_REASON = "fault injected by the harness"
DEFAULT_EVERY_BYTES = 4096
LONGEST_DELAY_S = 86400.0  # one model day; a service silent for longer is down, which the network proxy models


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

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        return parse_fault(data)

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


# -- the JSON -------------------------------------------------------------------------------------------------

COMMON_FIELDS = ("path", "method", "reason", "kind", "count", "window", "probability", "seed")
KIND_FIELDS = {"status": ("status", "retry_after_s"), "delay": ("delay_s",), "truncate": ("after_bytes",),
               "corrupt": ("every_bytes",)}
_METHOD = re.compile(r"\*|[A-Za-z_-]{1,32}")
_MISSING: Any = object()


def parse_fault(data: Any) -> Fault:
    """The fault `data` describes, or FaultError naming the first field that is wrong."""
    if not isinstance(data, dict):
        raise FaultError(f"a fault is a JSON object with a path and a kind's fields ({_fields_by_kind()}), "
                         f"got {_shown(data)}")
    kind = _kind(data)
    _only_known_fields(data, kind)
    return Fault(path=_path(data), effect=_EFFECTS[kind](data), method=_method(data), reason=_reason(data),
                 count=_count(data), window=_window(data), probability=_probability(data), seed=_seed(data))


def _kind(data: Mapping[str, Any]) -> str:
    kind = data.get("kind", "status")
    if not isinstance(kind, str) or kind not in KIND_FIELDS:
        raise FaultError(f"kind must be one of {', '.join(KIND_FIELDS)}, got {_shown(kind)}")
    return kind


def _only_known_fields(data: Mapping[str, Any], kind: str) -> None:
    allowed = (*COMMON_FIELDS, *KIND_FIELDS[kind])
    for name in data:
        if name in allowed:
            continue
        owner = next((other for other, fields in KIND_FIELDS.items() if name in fields), None)
        what = f"{name!r} belongs to kind {owner!r}" if owner else f"unknown field {name!r}"
        raise FaultError(f"{what}; a fault of kind {kind!r} takes {', '.join(allowed)}")


def _path(data: Mapping[str, Any]) -> str:
    path = _required(data, "path", "a path prefix starting with '/'")
    if not isinstance(path, str) or not path.startswith("/"):
        raise FaultError(f"path must be a path prefix starting with '/', got {_shown(path)}")
    return path


def _method(data: Mapping[str, Any]) -> str:
    method = data.get("method", "*")
    if not isinstance(method, str) or not _METHOD.fullmatch(method):
        raise FaultError(f"method must be an HTTP verb such as GET or CCM_POST, or '*' for any, got {_shown(method)}")
    return method.upper()


def _reason(data: Mapping[str, Any]) -> str:
    reason = data.get("reason", DEFAULT_REASON)
    if not isinstance(reason, str):
        raise FaultError(f"reason must be a string, got {_shown(reason)}")
    return reason


def _count(data: Mapping[str, Any]) -> int | None:
    if data.get("count", 1) is None:
        return None
    return _integer(data, "count", 1, default=1, allowed="a whole number of 1 or more, or null for no limit")


def _window(data: Mapping[str, Any]) -> Window | None:
    window = data.get("window")
    if window is None:
        return None
    if not isinstance(window, dict) or set(window) - {"from_s", "until_s"}:
        raise FaultError(f"window must be an object with from_s and until_s (model seconds after arming), "
                         f"got {_shown(window)}")
    start = _seconds(window, "from_s", default=0.0, name="window.from_s")
    end = None if window.get("until_s") is None else _seconds(window, "until_s", name="window.until_s")
    if end is not None and end <= start:
        raise FaultError(f"window.until_s must be after window.from_s, got from_s {start:g} and until_s {end:g}")
    return Window(start, end)


def _probability(data: Mapping[str, Any]) -> float | None:
    if data.get("probability") is None:
        return None
    return _number(data, "probability", 0.0, 1.0, allowed="a number from 0 to 1")


def _seed(data: Mapping[str, Any]) -> int | None:
    seed = data.get("seed")
    if seed is None:
        return None
    if data.get("probability") is None:
        raise FaultError("seed only applies with a probability: it seeds the fault's dice")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise FaultError(f"seed must be an integer, got {_shown(seed)}")
    return seed


def _answer(data: Mapping[str, Any]) -> Answer:
    _required(data, "status", "an HTTP status 400-599")
    status = _integer(data, "status", 400, 599, allowed="an integer 400-599")
    retry = data.get("retry_after_s")
    if retry is not None and status not in (429, 503):
        raise FaultError(f"retry_after_s only goes with status 503 or 429 (Retry-After), not {status}")
    if retry is None:
        return Answer(status)
    return Answer(status, _integer(data, "retry_after_s", 0, allowed="whole model seconds, 0 or more"))


def _delay(data: Mapping[str, Any]) -> Delay:
    _required(data, "delay_s", "model seconds to hold the response headers")
    return Delay(_seconds(data, "delay_s", high=LONGEST_DELAY_S))


def _truncate(data: Mapping[str, Any]) -> Truncate:
    _required(data, "after_bytes", "bytes of the body to send before the exchange ends")
    return Truncate(_integer(data, "after_bytes", 0, allowed="a whole number of bytes, 0 or more"))


def _corrupt(data: Mapping[str, Any]) -> Corrupt:
    every = _integer(data, "every_bytes", 1, default=DEFAULT_EVERY_BYTES, allowed="a whole number of 1 or more")
    return Corrupt(every)


_EFFECTS: dict[str, Callable[[Mapping[str, Any]], Effect]] = {
    "status": _answer, "delay": _delay, "truncate": _truncate, "corrupt": _corrupt}


def _required(data: Mapping[str, Any], name: str, allowed: str) -> Any:
    if name not in data:
        raise FaultError(f"fault is missing {name!r} ({allowed})")
    return data[name]


def _integer(data: Mapping[str, Any], name: str, low: int, high: int | None = None, *, default: Any = _MISSING,
             allowed: str) -> int:
    value = data.get(name, default)
    # bool is an int to Python, not to a person writing JSON
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        raise FaultError(f"{name} must be {allowed}, got {_shown(value)}")
    return value


def _number(data: Mapping[str, Any], name: str, low: float, high: float, *, default: Any = _MISSING,
            allowed: str, shown_as: str | None = None) -> float:
    value = data.get(name, default)
    # not (low <= value <= high) also refuses NaN, which compares false with everything
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise FaultError(f"{shown_as or name} must be {allowed}, got {_shown(value)}")
    return float(value)


def _seconds(data: Mapping[str, Any], key: str, *, default: Any = _MISSING, high: float = math.inf,
             name: str | None = None) -> float:
    limit = "" if math.isinf(high) else f" up to {high:g}"
    seconds = _number(data, key, 0.0, high, default=default, allowed=f"model seconds, 0 or more{limit}",
                      shown_as=name)
    if math.isinf(seconds):
        raise FaultError(f"{name or key} must be a finite number of model seconds, got {_shown(seconds)}")
    return seconds


def _fields_by_kind() -> str:
    return "; ".join(f"{kind}: {', '.join(fields)}" for kind, fields in KIND_FIELDS.items())


def _shown(value: Any) -> str:
    """A value as JSON, short: messages quote what was sent without echoing a megabyte back."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."

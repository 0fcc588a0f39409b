"""The JSON of `POST /_harness/faults`, read into the fault model of `faults.py`: `parse_fault` arms nothing, it
returns the `Fault` the JSON describes or a FaultError naming the first field that is wrong.

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

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from harness.service.faults import (
    DEFAULT_EVERY_BYTES,
    DEFAULT_REASON,
    Answer,
    Corrupt,
    Delay,
    Effect,
    Fault,
    FaultError,
    Truncate,
    Window,
)

LONGEST_DELAY_S = 86400.0  # one model day; a service silent for longer is down, which the network proxy models
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

"""Model units and the one `scale` factor that maps them to the physical run.

Features speak in model units ("a 3.2 GB package", "40 minutes"). At scale S a model byte count
becomes bytes / S on the wire and a model duration becomes seconds / S of real time; bandwidth is
unchanged. Reports always show model time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_SIZE_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
               "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
_TIME_UNITS = {"ms": 0.001, "millisecond": 0.001, "s": 1.0, "sec": 1.0, "second": 1.0,
               "min": 60.0, "minute": 60.0, "h": 3600.0, "hour": 3600.0, "day": 86400.0}
_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$")
# Case matters for b (bits) and B (bytes) only; the prefix is read either way, since no link runs at millibits.
_BANDWIDTH = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(bits?/s|b/s|bps|B/s|Bps)\s*$")
_ANY_QUANTITY = re.compile(r"^\s*\d+(?:\.\d+)?\s*(\S.*?)\s*$")
_RATE_PREFIXES = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}


def parse_size(text: str) -> int:
    """'3.2 GB' -> 3200000000 model bytes (decimal units, as the console shows sizes)."""
    number, unit = _split(text, "size")
    factor = _SIZE_UNITS.get(unit.upper())
    if factor is None:
        raise ValueError(f"unknown size unit {unit!r} in {text!r}; use B, KB, MB, GB, TB, KiB, MiB or GiB")
    return round(number * factor)


def parse_duration(text: str) -> float:
    """'4 minutes' / '15 s' / '1.5 hours' -> model seconds."""
    number, unit = _split(text, "duration")
    key = unit.lower().removesuffix("s") if len(unit) > 2 else unit.lower()
    factor = _TIME_UNITS.get(key)
    if factor is None:
        raise ValueError(f"unknown time unit {unit!r} in {text!r}; use ms, seconds, minutes, hours or days")
    return number * factor


def parse_bandwidth(text: str) -> float:
    """'20 Mbit/s' / '100 Mbps' / '2.5 MB/s' -> Mbit/s (10^6 bits per second, as link speeds are quoted)."""
    match = _BANDWIDTH.match(text)
    if match is None:
        raise _not_a_bandwidth(text)
    number, prefix, unit = float(match.group(1)), match.group(2).lower(), match.group(3)
    bits_per_unit = 8 if unit.startswith("B") else 1
    return number * _RATE_PREFIXES[prefix] * bits_per_unit / 1e6


def _not_a_bandwidth(text: str) -> ValueError:
    quantity = _ANY_QUANTITY.match(text)
    if quantity is None:
        return ValueError(f"not a bandwidth: {text!r} (expected a number and a unit, e.g. '20 Mbit/s')")
    return ValueError(f"unknown bandwidth unit {quantity.group(1)!r} in {text!r}; use bit/s, kbit/s, Mbit/s, "
                      "Gbit/s (or kbps, Mbps, Gbps) or B/s, kB/s, MB/s, GB/s")


def _split(text: str, what: str) -> tuple[float, str]:
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"not a {what}: {text!r} (expected a number and a unit, e.g. '3.2 GB' or '4 minutes')")
    return float(match.group(1)), match.group(2)


@dataclass(frozen=True)
class Scale:
    """physical = model / factor, for bytes and for seconds."""

    factor: float = 1.0

    def __post_init__(self) -> None:
        if not self.factor >= 1:
            raise ValueError(f"scale must be 1 or more (got {self.factor})")

    def physical_bytes(self, model_bytes: int) -> int:
        # Never zero: an empty blob would make "downloaded" indistinguishable from "missing".
        return max(1, round(model_bytes / self.factor))

    def real_seconds(self, model_seconds: float) -> float:
        return model_seconds / self.factor

    def model_seconds(self, real_seconds: float) -> float:
        return real_seconds * self.factor


# Model time starts here for every environment, so logs and content URLs look like a real day's.
DEFAULT_MODEL_EPOCH = datetime(2026, 11, 2, 8, 0, 0, tzinfo=UTC)

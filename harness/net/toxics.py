"""Toxiproxy's toxics as values: their JSON, their validation, and helpers that build them from model units.

The JSON is Toxiproxy's own (`{"name", "type", "stream", "toxicity", "attributes"}`, the same types, attribute
names and units), so a real Toxiproxy can stand in for `harness.net.proxy.FaultProxy`. Attributes are integers,
as Toxiproxy's Go structs require; missing ones are 0, as there. Unknown keys are refused (Toxiproxy ignores
them), so a misspelt attribute fails loudly instead of silently doing nothing.

`stream` is the direction data flows: "upstream" from the client to the service, "downstream" back to the client.
`toxicity` is the chance (0..1) that the toxic applies to a given connection.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from harness.model.units import Scale

# type → {attribute: unit}, in Toxiproxy's units.
ATTRIBUTES: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "latency": {"latency": "ms", "jitter": "ms"},
    "bandwidth": {"rate": "KB/s"},
    "slicer": {"average_size": "bytes", "size_variation": "bytes", "delay": "µs"},
    "timeout": {"timeout": "ms, 0 = until the toxic is removed"},
    "reset_peer": {"timeout": "ms"},
    "limit_data": {"bytes": "bytes"},
})
STREAMS = ("upstream", "downstream")
_TOXIC_KEYS = frozenset({"name", "type", "stream", "toxicity", "attributes"})
_UPDATE_KEYS = frozenset({"attributes", "toxicity"})


@dataclass(frozen=True)
class Toxic:
    """One toxic; `name` defaults to `<type>_<stream>`, as in Toxiproxy."""

    type: str
    attributes: Mapping[str, int] = field(default_factory=dict)
    stream: str = "downstream"
    toxicity: float = 1.0
    name: str = ""

    def __post_init__(self) -> None:
        if self.type not in ATTRIBUTES:
            raise ValueError(f"toxic type: unknown type {self.type!r}; use one of {', '.join(ATTRIBUTES)}")
        if self.stream not in STREAMS:
            raise ValueError(f"toxic {self.type!r}: stream must be 'upstream' or 'downstream', not {self.stream!r}")
        object.__setattr__(self, "name", _checked_name(self.name or f"{self.type}_{self.stream}"))
        object.__setattr__(self, "toxicity", _checked_toxicity(self.name, self.toxicity))
        object.__setattr__(self, "attributes", _checked_attributes(self.name, self.type, self.attributes))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Toxic:
        """A toxic from Toxiproxy's JSON; raises ValueError naming the field that is wrong."""
        _refuse_unknown(data, _TOXIC_KEYS, "toxic")
        for key in ("name", "type", "stream"):
            if key in data and not isinstance(data[key], str):
                raise ValueError(f"toxic {key} must be a string, not {data[key]!r}")
        if "type" not in data:
            raise ValueError(f"toxic type is required; use one of {', '.join(ATTRIBUTES)}")
        return cls(type=data["type"], attributes=_attributes_of(data), stream=data.get("stream", "downstream"),
                   toxicity=data.get("toxicity", 1.0), name=data.get("name", ""))

    def updated(self, changes: Mapping[str, Any]) -> Toxic:
        """Toxiproxy's update: given attributes replace those named, `toxicity` if given; the rest stays."""
        fixed = {key: changes[key] for key in ("name", "type", "stream") if key in changes}
        _refuse_unknown({k: v for k, v in changes.items() if k not in fixed}, _UPDATE_KEYS, f"update of {self.name!r}")
        for key, value in fixed.items():
            if value != getattr(self, key):
                raise ValueError(f"toxic {self.name!r}: {key} cannot change in an update ({value!r})")
        return Toxic(type=self.type, attributes={**self.attributes, **_attributes_of(changes)}, stream=self.stream,
                     toxicity=changes.get("toxicity", self.toxicity), name=self.name)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "stream": self.stream, "toxicity": self.toxicity,
                "attributes": dict(self.attributes)}


def rate_from_mbit(mbit_per_s: float) -> int:
    """Toxiproxy's bandwidth `rate` (KB/s, 1 KB = 1000 bytes) for a link of `mbit_per_s` (10^6 bits per second)."""
    if not (math.isfinite(mbit_per_s) and mbit_per_s > 0):
        raise ValueError(f"bandwidth must be a positive number of Mbit/s, not {mbit_per_s!r}")
    return max(1, round(mbit_per_s * 125))


def bandwidth(mbit_per_s: float, *, stream: str = "downstream", name: str = "", toxicity: float = 1.0) -> Toxic:
    return Toxic("bandwidth", {"rate": rate_from_mbit(mbit_per_s)}, stream, toxicity, name)


@dataclass(frozen=True)
class ModelToxics:
    """Toxics from model units (model seconds and bytes, as features speak) for a run at `scale`.

    Durations are divided by the scale and bytes too (`limit_data`); bandwidth is unchanged, and slicer packet
    sizes stay physical (they model TCP segments, not content). Toxiproxy counts whole milliseconds, so a model
    latency under half a millisecond of real time vanishes; a positive `timeout` never rounds to 0 ("forever").
    """

    scale: Scale

    def latency(self, seconds: float, jitter: float = 0.0, *, stream: str = "downstream", name: str = "",
                toxicity: float = 1.0) -> Toxic:
        attributes = {"latency": self._ms(seconds), "jitter": self._ms(jitter)}
        return Toxic("latency", attributes, stream, toxicity, name)

    def bandwidth(self, mbit_per_s: float, *, stream: str = "downstream", name: str = "",
                  toxicity: float = 1.0) -> Toxic:
        return bandwidth(mbit_per_s, stream=stream, name=name, toxicity=toxicity)

    def timeout(self, seconds: float, *, stream: str = "downstream", name: str = "", toxicity: float = 1.0) -> Toxic:
        milliseconds = self._ms(seconds)
        if seconds > 0:
            milliseconds = max(1, milliseconds)  # 0 would mean "stall until removed"
        return Toxic("timeout", {"timeout": milliseconds}, stream, toxicity, name)

    def reset_peer(self, after_seconds: float = 0.0, *, stream: str = "downstream", name: str = "",
                   toxicity: float = 1.0) -> Toxic:
        return Toxic("reset_peer", {"timeout": self._ms(after_seconds)}, stream, toxicity, name)

    def limit_data(self, model_bytes: int, *, stream: str = "downstream", name: str = "",
                   toxicity: float = 1.0) -> Toxic:
        return Toxic("limit_data", {"bytes": self.scale.physical_bytes(model_bytes)}, stream, toxicity, name)

    def slicer(self, average_size: int, size_variation: int, delay_seconds: float, *, stream: str = "downstream",
               name: str = "", toxicity: float = 1.0) -> Toxic:
        attributes = {"average_size": average_size, "size_variation": size_variation,
                      "delay": round(self.scale.real_seconds(delay_seconds) * 1e6)}
        return Toxic("slicer", attributes, stream, toxicity, name)

    def _ms(self, model_seconds: float) -> int:
        if not (math.isfinite(model_seconds) and model_seconds >= 0):
            raise ValueError(f"a duration must be 0 or more model seconds, not {model_seconds!r}")
        return round(self.scale.real_seconds(model_seconds) * 1000)


def _attributes_of(data: Mapping[str, Any]) -> Mapping[str, Any]:
    attributes = data.get("attributes", {})
    if not isinstance(attributes, Mapping):
        raise ValueError(f"toxic attributes must be an object, not {attributes!r}")
    return attributes


def _refuse_unknown(data: Mapping[str, Any], known: frozenset[str], what: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{what}: unknown field {unknown[0]!r}; expected {', '.join(sorted(known))}")


def _checked_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"toxic name must be a non-empty string, not {name!r}")
    return name


def _checked_toxicity(name: str, toxicity: object) -> float:
    # bool is an int in Python, but `true` is no probability.
    if isinstance(toxicity, bool) or not isinstance(toxicity, int | float) or not 0 <= toxicity <= 1:
        raise ValueError(f"toxic {name!r}: toxicity must be a number from 0 to 1, not {toxicity!r}")
    return float(toxicity)


def _checked_attributes(name: str, kind: str, attributes: Mapping[str, Any]) -> Mapping[str, int]:
    units = ATTRIBUTES[kind]
    _refuse_unknown(attributes, frozenset(units), f"toxic {name!r} ({kind}) attributes")
    checked = {key: attributes.get(key, 0) for key in units}
    for key, value in checked.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"toxic {name!r}: attributes.{key} must be an integer ≥ 0 ({units[key]}), "
                             f"not {value!r}")
    if kind == "slicer":
        _check_slicer(name, checked)
    return MappingProxyType(checked)


def _check_slicer(name: str, attributes: Mapping[str, int]) -> None:
    # Toxiproxy's own rule (the variation must stay below the average), and a slice is at least one byte.
    if attributes["average_size"] < 1:
        raise ValueError(f"toxic {name!r}: attributes.average_size must be at least 1 byte")
    if attributes["size_variation"] >= attributes["average_size"]:
        raise ValueError(f"toxic {name!r}: attributes.size_variation must be less than average_size "
                         f"({attributes['size_variation']} ≥ {attributes['average_size']})")

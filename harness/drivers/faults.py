"""HTTP-level faults as a scenario arms them through a driver: what a service does instead of its answer, or to
it, and on which requests.

    storage.arm(f"/content/{package}/", Status(503, retry_after=1).on("GET").times(2).because("Server busy"))
    cmg.arm(CONTENT_PATH, Delay(600).on("GET"))
    storage.arm(path, Cut(after=40_000))
    storage.arm(path, Status(503).unlimited().during(0, 1800))
    storage.arm(path, Corrupt(every=4096).unlimited().with_probability(0.5, seed=4))

A fault is immutable: each modifier returns a new one. By default it fires once, on any method, at any time.
`to_json(path)` is the one place that writes the JSON the services read (`POST /_harness/faults`, whose fields
harness/service/fault_json.py documents and checks).

A new fault kind touches: a class here (its `kind` and `_effect` fields), its dataclass in harness/service/faults.py,
its parser in harness/service/fault_json.py (`_EFFECTS` there), what it does to an answer in
harness/service/fault_effects.py, and the table in harness/service/fault_json.py's docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar, Self


@dataclass(frozen=True, kw_only=True)
class Fault:
    """When a fault fires: `count` matching requests (None: all of them), within `window` (model seconds after
    arming; an open end is None), each with `probability` drawn from `seed`, on `method` ("*": any)."""

    kind: ClassVar[str]
    count: int | None = 1
    window: tuple[float, float | None] | None = None
    probability: float | None = None
    seed: int = 0
    method: str = "*"
    reason: str = ""

    def times(self, count: int) -> Self:
        return replace(self, count=count)

    def unlimited(self) -> Self:
        """Every matching request (while the window, if any, lasts)."""
        return replace(self, count=None)

    def during(self, from_s: float, until_s: float | None = None) -> Self:
        if until_s is not None and until_s <= from_s:
            raise ValueError(f"a fault's window ends after it opens, not at {until_s:g} model s after {from_s:g}")
        return replace(self, window=(from_s, until_s))

    def with_probability(self, probability: float, seed: int = 0) -> Self:
        return replace(self, probability=probability, seed=seed)

    def on(self, method: str) -> Self:
        return replace(self, method=method)

    def because(self, reason: str) -> Self:
        """The reason the service's journal (and a status fault's answer) gives."""
        return replace(self, reason=reason)

    def to_json(self, path: str) -> dict[str, Any]:
        """The body of `POST /_harness/faults` for requests under `path`."""
        body: dict[str, Any] = {"path": path, "kind": self.kind, "method": self.method, "count": self.count,
                                **self._effect()}
        if self.window is not None:
            body["window"] = {"from_s": self.window[0], "until_s": self.window[1]}
        if self.probability is not None:
            body.update(probability=self.probability, seed=self.seed)
        if self.reason:
            body["reason"] = self.reason
        return body

    def _effect(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class Status(Fault):
    """Answer `status` in the service's place; `retry_after` (whole model seconds) with 429 or 503."""

    kind: ClassVar[str] = "status"
    status: int
    retry_after: int | None = None

    def _effect(self) -> dict[str, Any]:
        return {"status": self.status, **({"retry_after_s": self.retry_after} if self.retry_after is not None else {})}


@dataclass(frozen=True)
class Delay(Fault):
    """Hold the answer's headers `seconds` model seconds, then let it through unchanged."""

    kind: ClassVar[str] = "delay"
    seconds: float

    def _effect(self) -> dict[str, Any]:
        return {"delay_s": self.seconds}


@dataclass(frozen=True)
class Cut(Fault):
    """End the exchange after `after` bytes of the body (bytes on the wire); the Content-Length stays."""

    kind: ClassVar[str] = "truncate"
    after: int

    def _effect(self) -> dict[str, Any]:
        return {"after_bytes": self.after}


@dataclass(frozen=True)
class Corrupt(Fault):
    """Invert one body byte in every `every`, from the first: the same length, another hash."""

    kind: ClassVar[str] = "corrupt"
    every: int = 4096

    def _effect(self) -> dict[str, Any]:
        return {"every_bytes": self.every}


__all__ = ["Corrupt", "Cut", "Delay", "Fault", "Status"]

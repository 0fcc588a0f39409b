"""ModelClock: the model wall clock every process of an environment shares, real or virtual.

- real: model time is real time since `real_epoch` × scale. Every process gets the same epoch and scale, so
  token lifetimes and validity windows agree across processes without any clock service. Waits are real.
- virtual: model time is what the environment's clock authority says (the shared file), and a wait is an
  actor's sleep at the authority: it ends when everyone else waits too, at once in real time.

Either way, callers speak model seconds; `physical_*` speak the physical timescale (model / scale), the one a
client's link paces physical bytes on.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from harness.clock.actor import Actor, ClockCancelled, NoActor, current
from harness.clock.shared import SharedTime
from harness.model.units import DEFAULT_MODEL_EPOCH, Scale

CLOCK_MODES = ("real", "virtual")


@dataclass(frozen=True)
class VirtualTime:
    """Where a virtual clock lives: the shared time file and the authority's actor port."""

    state: Path
    authority: str  # 127.0.0.1:port

    def to_json(self) -> dict[str, str]:
        return {"state": str(self.state), "authority": self.authority}


@dataclass(frozen=True)
class ModelClock:
    scale: Scale
    real_epoch: float
    model_epoch: datetime = DEFAULT_MODEL_EPOCH
    virtual: VirtualTime | None = None

    @classmethod
    def starting_now(cls, scale: Scale, virtual: VirtualTime | None = None) -> ModelClock:
        return cls(scale=scale, real_epoch=time.time(), virtual=virtual)

    @property
    def mode(self) -> str:
        return "real" if self.virtual is None else "virtual"

    def seconds(self) -> float:
        """Model seconds since the model epoch."""
        if self.virtual is None:
            return self.scale.model_seconds(time.time() - self.real_epoch)
        return _shared(self.virtual.state).read() / 1e6

    def now(self) -> datetime:
        return self.model_epoch + timedelta(seconds=self.seconds())

    def sleep(self, model_seconds: float, cancel: threading.Event | None = None) -> None:
        """Waits `model_seconds` of model time; raises ClockCancelled if `cancel` is set first (or the virtual
        clock is reset). Virtual: as the actor bound to this thread."""
        if cancel is not None and cancel.is_set():
            raise ClockCancelled("cancelled before the wait")
        if self.virtual is not None:
            current().sleep(model_seconds)
            return
        real = self.scale.real_seconds(model_seconds)
        if cancel is None:
            time.sleep(real)
        elif cancel.wait(real):
            raise ClockCancelled("cancelled during the wait")

    def join(self, actor: str, *, queued: bool = False, settles: bool = False) -> Actor | NoActor:
        """An actor of the virtual clock (busy from now on, or `queued` for its turn; `settles` if its process
        reports on it); the real clock's stand-in otherwise."""
        if self.virtual is None:
            return NoActor()
        return Actor(self.virtual.authority, actor, queued=queued, settles=settles)

    # -- the physical timescale (model / scale): where a client's link paces physical bytes ------------------

    def physical_now(self) -> float:
        if self.virtual is None:
            return time.perf_counter()
        return self.scale.real_seconds(self.seconds())

    def physical_sleep(self, seconds: float) -> None:
        if self.virtual is None:
            time.sleep(seconds)
        else:
            current().sleep(self.scale.model_seconds(seconds))

    # -- configuration ---------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"scale": self.scale.factor, "real_epoch": self.real_epoch,
                                   "model_epoch": self.model_epoch.isoformat(), "mode": self.mode}
        if self.virtual is not None:
            data["virtual"] = self.virtual.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ModelClock:
        virtual = data.get("virtual")
        where = None
        if isinstance(virtual, dict):
            where = VirtualTime(Path(str(virtual["state"])), str(virtual["authority"]))
        return cls(scale=Scale(float(str(data["scale"]))), real_epoch=float(str(data["real_epoch"])),
                   model_epoch=datetime.fromisoformat(str(data["model_epoch"])), virtual=where)


def real_clock_now(scale: Scale) -> ModelClock:
    """A real clock whose model epoch is now (for services started on their own, outside an environment)."""
    return ModelClock(scale, real_epoch=time.time(), model_epoch=datetime.now(UTC))


@cache
def _shared(path: Path) -> SharedTime:
    return SharedTime(path)

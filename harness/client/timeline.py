"""What happened during one run, in model seconds from the moment the user clicked Install."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.model.units import Scale


@dataclass
class Timeline:
    """`scale` alone: real elapsed time × scale (the real clock); `clock`: model seconds from a model clock (the
    virtual clock, where only modelled durations take time)."""

    scale: Scale
    clock: Callable[[], float] | None = None
    _events: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._t0 = self._read()

    def _read(self) -> float:
        return self.clock() if self.clock is not None else self.scale.model_seconds(time.perf_counter())

    def now(self) -> float:
        """Model seconds since the run started."""
        return self._read() - self._t0

    def record(self, event: str, **fields: Any) -> dict[str, Any]:
        entry = {"t": round(self.now(), 3), "event": event, **fields}
        with self._lock:
            self._events.append(entry)
        return entry

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events)

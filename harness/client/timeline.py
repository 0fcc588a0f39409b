"""What happened during one run, in model seconds from the moment the user clicked Install."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from harness.model.units import Scale


@dataclass
class Timeline:
    scale: Scale
    _t0: float = field(default_factory=time.perf_counter)
    _events: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        """Model seconds since the run started."""
        return self.scale.model_seconds(time.perf_counter() - self._t0)

    def record(self, event: str, **fields: Any) -> dict[str, Any]:
        entry = {"t": round(self.now(), 3), "event": event, **fields}
        with self._lock:
            self._events.append(entry)
        return entry

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events)

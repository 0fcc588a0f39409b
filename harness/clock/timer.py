"""Something to do at a model instant: a scenario's "the CMG goes down 2 hours after Install".

On the real clock a threading.Timer (real seconds = model seconds / scale). On a virtual clock a thread that
joins as an actor, sleeps the model duration at the authority and then acts: the action happens at exactly that
model instant, whatever else the machine is doing, and time stands still while it runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from harness.clock.actor import Actor, ClockCancelled, ClockUnavailable
from harness.clock.model_clock import ModelClock

_log = logging.getLogger(__name__)


class ModelTimer:
    """Runs `action` `model_seconds` from now on `clock`; `cancel()` before then and it never runs."""

    def __init__(self, clock: ModelClock, model_seconds: float, action: Callable[[], None], *, name: str) -> None:
        self._cancelled = threading.Event()
        if clock.mode == "real":
            self._timer: threading.Timer | None = threading.Timer(clock.scale.real_seconds(model_seconds), action)
            self._timer.daemon = True
            self._actor: Actor | None = None
            self._timer.start()
            return
        self._timer = None
        # Joined here, busy, before the caller goes on: from this instant the wait is counted.
        actor = clock.join(f"timer/{name}")
        assert isinstance(actor, Actor)
        self._actor = actor
        threading.Thread(target=self._wait_then, args=(actor, model_seconds, action), name=f"timer-{name}",
                         daemon=True).start()

    def cancel(self) -> None:
        self._cancelled.set()
        if self._timer is not None:
            self._timer.cancel()
        if self._actor is not None:
            self._actor.cancel()

    def _wait_then(self, actor: Actor, model_seconds: float, action: Callable[[], None]) -> None:
        with actor:
            try:
                actor.sleep(model_seconds)
            except (ClockCancelled, ClockUnavailable):
                return
            if not self._cancelled.is_set():
                try:
                    action()
                except Exception:  # a scenario's action failing must not kill the thread silently
                    _log.exception("model timer %s failed", actor.name)

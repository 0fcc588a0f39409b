"""Not collected by the suite (no test_ prefix): test_interrupts.py runs it as the runner it interrupts.

It brings the session's environment up through the same fixtures scenarios use, says so, and holds it.
"""

from __future__ import annotations

import time

from harness.environments.base import Environment

HOLD_S = 120.0


def test_hold_the_environment(harness_environment: Environment) -> None:
    print(f"HELD {harness_environment.name}", flush=True)
    time.sleep(HOLD_S)

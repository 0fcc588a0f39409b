"""Not collected by the suite (no test_ prefix): test_interrupts.py runs it as the runner it interrupts.

It brings the session's environment up through the same fixtures scenarios use, says so, and holds it.
"""

from __future__ import annotations

import signal
import time

from harness.environments.base import Environment

HOLD_S = 120.0

# Ctrl+C in a terminal reaches a foreground job whose SIGINT raises KeyboardInterrupt. A runner started from a
# background job (`cmd &` in a script, nohup) inherits SIGINT ignored, and Python then leaves it ignored: the
# test would be interrupting a process that cannot be interrupted. Give it the foreground job's handler.
signal.signal(signal.SIGINT, signal.default_int_handler)


def test_hold_the_environment(harness_environment: Environment) -> None:
    print(f"HELD {harness_environment.name}", flush=True)
    time.sleep(HOLD_S)

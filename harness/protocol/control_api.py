"""The harness's own control API (`/_harness/…` on every service), as its drivers read it.

A journal entry's note says why a service answered as it did. Two kinds of note mark a server error the scenario
arranged, which is not a bug: a service the scenario stopped, and an armed fault.
"""

from __future__ import annotations

DELIBERATE = "deliberate: "  # a 5xx the scenario asked for (a stopped service)
FAULT = "fault: "  # an armed fault answered instead of the app, or changed its answer


def arranged(note: str) -> bool:
    """Whether a journal note marks an answer the scenario arranged."""
    return note.startswith((DELIBERATE, FAULT))

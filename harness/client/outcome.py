"""How a run ends, and the exceptions that carry it there."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.model.errors import HResult


class Cancelled(Exception):
    """The environment was reset while this run was going on."""


class RunFailed(Exception):
    """The run ends here: refused before it started, or failed with an HRESULT."""

    def __init__(self, hresult: HResult | int, message: str, *, status: str = "failed",
                 step: str | None = None) -> None:
        super().__init__(message)
        self.hresult = int(hresult)
        self.status = status
        self.step = step


class StepFailed(Exception):
    """A step failed; groups with Continue on error stop it, otherwise it ends the task sequence."""

    def __init__(self, hresult: HResult | int, message: str, step: str) -> None:
        super().__init__(message)
        self.hresult = int(hresult)
        self.step = step


@dataclass
class RunOutcome:
    status: str = "running"  # running | succeeded | failed | refused | cancelled
    exit_code: str | None = None
    reason: str = ""
    failed_step: str | None = None
    on_internet: bool | None = None
    option: str | None = None
    variables: dict[str, str] = field(default_factory=dict)

"""A failing scenario's report starts with the step that failed and what it said, not with pytest's fixture frames.

pytest-bdd runs each step as a fixture call, so pytest's default report opens with twenty lines of
`_pytest/fixtures.py` before the step's own message. Scenario writers read that message first; the frames that
raised it (from the project's own code) follow on one line each. `--tb=long`, `--tb=short` and the other
explicit styles keep pytest's report as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

_FAILED_STEP = pytest.StashKey[str]()
_ROOT = Path(__file__).resolve().parents[2]


def pytest_bdd_step_error(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: Any, exception: BaseException) -> None:
    request.node.stash[_FAILED_STEP] = f"{step.keyword} {step.name}  ({feature.rel_filename}:{step.line_number})"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    step = item.stash.get(_FAILED_STEP, None)
    if report.failed and call.excinfo is not None and step is not None and item.config.option.tbstyle == "auto":
        report.longrepr = step_first(step, call.excinfo)
    return report


def step_first(step: str, excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """The step, the exception's own words, then where in the project it was raised (innermost last)."""
    message = str(excinfo.value) or "(no message)"
    frames = [f"  {_relative(entry.path)}:{entry.lineno + 1} in {entry.name}" for entry in excinfo.traceback
              if _in_project(entry.path)]
    return "\n".join([f"Step failed: {step}", "", f"{excinfo.typename}: {message}", "", "raised at:", *frames])


def _in_project(path: Any) -> bool:
    resolved = Path(str(path)).resolve()
    return resolved.is_relative_to(_ROOT) and ".venv" not in resolved.parts


def _relative(path: Any) -> str:
    return str(Path(str(path)).resolve().relative_to(_ROOT))

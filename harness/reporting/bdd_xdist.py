"""pytest-bdd's Cucumber JSON under pytest-xdist.

pytest-bdd keeps each report's scenario in a registry keyed by the report object (`reporting.
test_report_context_registry`), which the report does not carry across xdist: the controller, which writes
cucumber.json, receives new report objects and finds nothing, so a parallel run wrote `[]`. Here a worker puts
the scenario on its report as a plain attribute, which xdist serialises, and the controller puts it back in the
registry before pytest-bdd's own hook reads it. Serial runs are untouched.
"""

from __future__ import annotations

import dataclasses

import pytest
from pytest_bdd.reporting import ReportContext, test_report_context_registry

_ATTRIBUTE = "cmg_bdd_context"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    context = test_report_context_registry.get(report)
    if context is not None:  # in the process that ran the scenario: travel with the report
        setattr(report, _ATTRIBUTE, dataclasses.asdict(context))
        return
    carried = getattr(report, _ATTRIBUTE, None)
    if isinstance(carried, dict):  # in the controller: back where pytest-bdd looks
        test_report_context_registry[report] = ReportContext(**carried)

"""Writes reports/summary.json: each scenario's outcome and its model-time figures, and the behaviour table
(each documented behaviour of docs/behaviour.md with its scenarios' result in this run).

CI dashboards read it without parsing Allure or JUnit; release managers read the same numbers
in the Allure report, and sign off from the behaviour table (`cmg-harness behaviours`).

Under pytest-xdist the scenarios run in workers and the summary is written by the controller, which sees only
the reports the workers send. So what a scenario recorded (its names, its runs' figures, the worker's
environment) travels on the report itself, as plain attributes xdist serialises with it (`cmg_*`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from harness.drivers.run import RunResult
from harness.reporting.behaviour_results import table_for_rows

_RUNS = pytest.StashKey[list[dict[str, Any]]]()
_SCENARIO = pytest.StashKey[dict[str, Any]]()
_ENVIRONMENT = pytest.StashKey[list[dict[str, Any]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("cmg-harness").addoption(
        "--summary-json", metavar="PATH", default=None,
        help="write each scenario's outcome and model-time figures as JSON to PATH")


def record_run(node: pytest.Item | Any, run: RunResult) -> None:
    """Called by the step that waited for a run; the figures go into the summary."""
    node.stash.setdefault(_RUNS, []).append({"client": run.state["client"], **run.figures()})


def record_environment(config: pytest.Config, info: dict[str, Any]) -> None:
    """Which environment ran, at what scale, and how long it took to start (one entry per environment)."""
    config.stash.setdefault(_ENVIRONMENT, []).append(info)


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    request.node.stash[_SCENARIO] = {"feature": feature.name, "scenario": scenario.name}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Puts what the scenario recorded on its report, where the controller's SummaryWriter reads it."""
    report = yield
    report.cmg_names = item.stash.get(_SCENARIO, {})
    if report.when == "teardown":
        report.cmg_runs = item.stash.get(_RUNS, [])
        report.cmg_environments = item.config.stash.get(_ENVIRONMENT, [])
    return report


class SummaryWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[str, dict[str, Any]] = {}
        self.environments: list[dict[str, Any]] = []  # one per process that started one (each xdist worker)
        self.started = time.time()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        row = self.rows.setdefault(report.nodeid, {"nodeid": report.nodeid, "outcome": "passed",
                                                   "duration_s": 0.0})
        # The scenario's names are known from its first step on: after the setup report, which comes first.
        row.update(getattr(report, "cmg_names", {}))
        row["duration_s"] = round(row["duration_s"] + report.duration, 3)
        if report.failed:
            row["outcome"] = "failed" if report.when == "call" else "error"
        elif report.skipped and row["outcome"] == "passed":
            row["outcome"] = "skipped"
        if report.when == "teardown":
            row["runs"] = getattr(report, "cmg_runs", [])
            self.environments += [e for e in getattr(report, "cmg_environments", []) if e not in self.environments]

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        rows = list(self.rows.values())
        totals = {k: sum(1 for r in rows if r["outcome"] == k) for k in ("passed", "failed", "error", "skipped")}
        environment = next(iter(self.environments), None)
        summary = {"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "wall_s": round(time.time() - self.started, 3),
                   "environment": environment, "environments": self.environments, "totals": totals,
                   "scenarios": rows,
                   "behaviours": table_for_rows(rows, str((environment or {}).get("name", "local")))}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(summary, indent=2), encoding="utf-8")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--summary-json")
    if path and not hasattr(config, "workerinput"):
        config.pluginmanager.register(SummaryWriter(Path(path)), "cmg-harness-summary")

"""The one place that calls allure.attach.

Only one Allure plugin runs at a time (allure-pytest-bdd for scenarios, allure-pytest for plain
tests: both together abort pytest). Under allure-pytest-bdd an attach outside a scenario raises
KeyError, so attachments are made only while a scenario step runs, which is where runs finish.
"""

from __future__ import annotations

import json

import allure

from harness.drivers.fleet import FleetResult
from harness.drivers.run import RunResult
from harness.reporting import timeline_svg
from harness.reporting.fleet_report import percentiles_table, pictures


def attach_text(name: str, text: str, *, json_body: bool = False) -> None:
    kind = allure.attachment_type.JSON if json_body else allure.attachment_type.TEXT
    allure.attach(text, name=name, attachment_type=kind)


def attach_run(run: RunResult) -> None:
    """The timeline picture and smsts.log first (what people open), then the other logs and the timeline."""
    title = f"{run.state['deployment']} on {run.state['client']}: {run.status} ({run.exit_code})"
    allure.attach(timeline_svg.render(run.timeline, title), name="timeline", attachment_type=allure.attachment_type.SVG)
    for name in sorted(run.logs, key=lambda n: (n != "smsts.log", n)):
        attach_text(name, run.logs[name])
    attach_text("timeline (model seconds)", run.describe())
    attach_text("timeline.json", json.dumps(run.timeline, indent=2), json_body=True)


def attach_service_logs(service: str, logs: dict[str, str]) -> None:
    """A service's logs, each named "<service>: <file>" (e.g. "site: MP_Location.log")."""
    for name in sorted(logs):
        attach_text(f"{service}: {name}", logs[name])


def label_environment(name: str) -> None:
    """The `environment` label: allurerc.mjs splits the report by it, so results from local and containers
    runs merged into one report stay apart and can be compared test by test."""
    allure.dynamic.label("environment", name)  # type: ignore[no-untyped-call]


def attach_fleet(fleet: FleetResult, deployment: dict[str, object]) -> None:
    """The fleet's pictures, its percentiles table, and the CMG's deployment as it ended."""
    for name, svg in pictures(fleet.outcomes, deployment).items():
        allure.attach(svg, name=name, attachment_type=allure.attachment_type.SVG)
    attach_text("fleet: percentiles", percentiles_table(fleet.outcomes))
    attach_text("CMG deployment", json.dumps(deployment, indent=2), json_body=True)

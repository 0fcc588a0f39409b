"""The one place that calls allure.attach.

Only one Allure plugin runs at a time (allure-pytest-bdd for scenarios, allure-pytest for plain
tests: both together abort pytest). Under allure-pytest-bdd an attach outside a scenario raises
KeyError, so attachments are made only while a scenario step runs, which is where runs finish.
"""

from __future__ import annotations

import json

import allure

from harness.drivers.run import RunResult


def attach_text(name: str, text: str, *, json_body: bool = False) -> None:
    kind = allure.attachment_type.JSON if json_body else allure.attachment_type.TEXT
    allure.attach(text, name=name, attachment_type=kind)


def attach_run(run: RunResult) -> None:
    """smsts.log first (it is what people open), then the other logs and the timeline."""
    for name in sorted(run.logs, key=lambda n: (n != "smsts.log", n)):
        attach_text(name, run.logs[name])
    attach_text("timeline (model seconds)", run.describe())
    attach_text("timeline.json", json.dumps(run.timeline, indent=2), json_body=True)


def attach_service_logs(service: str, logs: dict[str, str]) -> None:
    """A service's logs, each named "<service>: <file>" (e.g. "site: MP_Location.log")."""
    for name in sorted(logs):
        attach_text(f"{service}: {name}", logs[name])

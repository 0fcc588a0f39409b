"""Report folders as `cmg-harness run --shard I/N --reports DIR` writes them, small and made up: each scenario an
Allure result, a summary row, a JUnit test case and a Cucumber element."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

FEATURE = "features/on_demand.feature"


def scenario_name(index: int) -> str:
    return f"Scenario {index:02d}"


def write_shard(folder: Path, scenarios: range, *, environment: str = "local", failed: frozenset[int] = frozenset(),
                wall_s: float = 10.0) -> Path:
    """A report folder with `scenarios` (by number) run on `environment`; those in `failed` failed."""
    suffix = "" if environment == "local" else f"-{environment}"
    results = folder / "allure-results"
    results.mkdir(parents=True, exist_ok=True)
    rows, cases, elements = [], [], []
    for index in scenarios:
        name, outcome = scenario_name(index), "failed" if index in failed else "passed"
        result = {"uuid": str(uuid.uuid4()), "historyId": f"{environment}-{index}", "name": name, "fullName": name,
                  "status": outcome, "stage": "finished", "start": 1, "stop": 2,
                  "labels": [{"name": "feature", "value": "On demand"}, {"name": "environment", "value": environment}]}
        (results / f"{result['uuid']}-result.json").write_text(json.dumps(result), encoding="utf-8")
        rows.append({"nodeid": f"features/test_on_demand.py::test_scenario_{index:02d}", "scenario": name,
                     "outcome": outcome, "duration_s": 1.0, "runs": []})
        cases.append(f'<testcase classname="features.test_on_demand" name="test_scenario_{index:02d}" time="1.0">'
                     + ('<failure message="x"/>' if outcome == "failed" else "") + "</testcase>")
        elements.append({"keyword": "Scenario", "name": name, "line": 10 + index, "type": "scenario", "steps": []})
    summary = {"generated": "2026-12-05T00:00:00Z", "wall_s": wall_s, "environment": {"name": environment},
               "environments": [{"name": environment}], "totals": {}, "scenarios": rows, "behaviours": []}
    (folder / f"summary{suffix}.json").write_text(json.dumps(summary), encoding="utf-8")
    failures = sum(index in failed for index in scenarios)
    (folder / f"junit{suffix}.xml").write_text(
        f'<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="{len(cases)}" '
        f'failures="{failures}" errors="0" skipped="0" time="{wall_s}">{"".join(cases)}</testsuite></testsuites>',
        encoding="utf-8")
    cucumber = [{"keyword": "Feature", "uri": FEATURE, "name": "On demand", "id": FEATURE, "line": 1,
                 "description": "", "tags": [], "elements": elements}]
    (folder / f"cucumber{suffix}.json").write_text(json.dumps(cucumber), encoding="utf-8")
    return folder

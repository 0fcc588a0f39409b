"""The behaviour table a run reports: each behaviour's scenarios matched to the summary's rows by their binding
module and name, and one result per environment (failed, passed, partly run, not run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.reporting.behaviour_results import behaviour_table, load_summaries, render, scenario_key
from harness.reporting.behaviours import parse_behaviours

DOC = """# Behaviours

## B-01: One

Text.

- Source: https://learn.microsoft.com/one

## B-02: Two

Text.

- Source: https://learn.microsoft.com/two
"""
TAGGED = {"B-01": ["peer_cache.feature: A", "peer_cache.feature: B"], "B-02": ["on_demand.feature: C"]}


def _row(module: str, scenario: str, outcome: str) -> dict[str, Any]:
    return {"nodeid": f"features/test_{module}.py::test_x", "scenario": scenario, "outcome": outcome}


def _results(rows: list[dict[str, Any]]) -> dict[str, str]:
    table = behaviour_table(parse_behaviours(DOC), TAGGED, {"local": rows})
    return {row["id"]: row["results"]["local"] for row in table}


def test_a_row_is_keyed_by_the_feature_its_module_binds_and_its_scenario() -> None:
    assert scenario_key(_row("peer_cache", "A", "passed")) == "peer_cache.feature: A"
    assert scenario_key({"nodeid": "tests/unit/test_layers.py::test_x", "outcome": "passed"}) is None


def test_every_scenario_passed_is_passed_and_one_failure_fails() -> None:
    assert _results([_row("peer_cache", "A", "passed"), _row("peer_cache", "B", "passed"),
                     _row("on_demand", "C", "failed")]) == {"B-01": "passed", "B-02": "failed"}


def test_an_outlines_rows_count_for_its_template() -> None:
    tagged = {"B-01": ["on_demand.feature: Downloads on demand from <version>"]}
    rows = [_row("on_demand", "Downloads on demand from 1910", "passed"),
            _row("on_demand", "Downloads on demand from 2107", "failed"),
            _row("on_demand", "Downloads on demand", "failed")]  # not a row of the template: it has no version
    table = behaviour_table(parse_behaviours(DOC), tagged, {"local": rows})
    assert table[0]["results"] == {"local": "failed"}
    assert behaviour_table(parse_behaviours(DOC), tagged, {"local": rows[:1]})[0]["results"] == {"local": "passed"}


def test_a_behaviour_with_scenarios_left_out_is_partly_run_and_one_with_none_not_run() -> None:
    assert _results([_row("peer_cache", "A", "passed"), _row("peer_cache", "B", "skipped")]) == {
        "B-01": "partly run", "B-02": "not run"}


def test_the_summaries_of_a_report_folder_are_read_per_environment(tmp_path: Path) -> None:
    for name, environment, outcome in (("summary.json", "local", "passed"),
                                       ("summary-containers.json", "containers", "failed")):
        (tmp_path / name).write_text(json.dumps({"environment": {"name": environment},
                                                 "scenarios": [_row("on_demand", "C", outcome)]}))
    summaries = load_summaries(tmp_path)
    table = behaviour_table(parse_behaviours(DOC), TAGGED, summaries)
    assert table[1]["results"] == {"containers": "failed", "local": "passed"}
    assert render(table).splitlines()[-2:] == ["containers: 0 of 2 behaviours passed",
                                               "local: 1 of 2 behaviours passed"]


def test_the_command_prints_the_projects_table_and_fails_when_a_behaviour_failed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    assert main(["behaviours", "--reports", str(tmp_path), "--json"]) == 0  # no summaries: nothing failed
    every = json.loads(capsys.readouterr().out)
    assert every["environments"] == [] and len(every["behaviours"]) >= 50
    first = every["behaviours"][0]
    scenario = first["scenarios"][0]
    module, name = scenario.split(".feature: ", 1)
    (tmp_path / "summary.json").write_text(json.dumps({"environment": {"name": "local"}, "scenarios": [
        _row(module, name, "failed")]}))
    assert main(["behaviours", "--reports", str(tmp_path)]) == 1
    assert f"{first['id']}" in capsys.readouterr().out

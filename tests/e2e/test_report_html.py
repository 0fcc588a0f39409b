"""The Allure Report 3 HTML is rebuilt in place: index.html at the top of the folder, every time."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from harness.cli import command_run
from harness.environments.local import PROJECT_ROOT
from harness.environments.select import parse_spec
from harness.reporting.report_folder import build_html


def write_result(results: Path, name: str) -> None:
    results.mkdir(parents=True, exist_ok=True)
    result = {"uuid": str(uuid.uuid4()), "historyId": name, "name": name, "fullName": name, "status": "passed",
              "stage": "finished", "start": 1, "stop": 2, "labels": [{"name": "feature", "value": "Report check"}]}
    (results / f"{result['uuid']}-result.json").write_text(json.dumps(result), encoding="utf-8")


@pytest.mark.skipif(not (PROJECT_ROOT / "node_modules" / ".bin" / "allure").exists(),
                    reason="Allure Report 3 is not installed: run npm ci")
def test_a_second_build_replaces_the_first(tmp_path: Path) -> None:
    results, output = tmp_path / "allure-results", tmp_path / "html"
    write_result(results, "first scenario")
    build_html(results, output)
    write_result(results, "second scenario")
    build_html(results, output)
    index = output / "index.html"
    assert index.exists() and not (output / "awesome").exists(), sorted(p.name for p in output.iterdir())
    summary = json.loads((output / "summary.json").read_text(encoding="utf-8"))
    assert summary["stats"]["total"] == 2
    assert len((tmp_path / "history.jsonl").read_text(encoding="utf-8").splitlines()) == 2  # beside the report


@pytest.mark.parametrize("append", [False, True], ids=["fresh", "append"])
def test_a_fresh_run_starts_the_report_folder_afresh_and_an_appended_one_keeps_it(tmp_path: Path,
                                                                                 append: bool) -> None:
    """An earlier containers run's summary must not show in a fresh local run's behaviour table."""
    stale = tmp_path / "summary-containers.json"
    stale.write_text(json.dumps({"environment": {"name": "containers"}, "scenarios": []}), encoding="utf-8")
    (tmp_path / "junit-containers.xml").write_text("<testsuites/>", encoding="utf-8")
    command_run(parse_spec("local"), tmp_path, ["-k", "no scenario has this name", "-p", "no:cacheprovider"],
                html=False, append=append)
    assert stale.exists() == append and (tmp_path / "junit-containers.xml").exists() == append
    assert (tmp_path / "summary.json").exists() and (tmp_path / "behaviours.html").exists()
    columns = "<th>containers</th><th>local</th>" if append else "<th>local</th><th>Scenarios</th>"
    assert columns in (tmp_path / "behaviours.html").read_text(encoding="utf-8")

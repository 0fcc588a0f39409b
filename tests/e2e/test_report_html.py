"""The Allure Report 3 HTML is rebuilt in place: index.html at the top of the folder, every time."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from harness.cli import build_html
from harness.environments.local import PROJECT_ROOT


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

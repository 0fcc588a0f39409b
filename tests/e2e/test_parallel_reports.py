"""A parallel run (pytest-xdist, each worker its own environment) reports what a serial run reports: every
scenario in summary.json with the same model-time figures, in cucumber.json with its steps, and in JUnit."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness.environments.local import PROJECT_ROOT

FEATURES = ["features/test_on_demand.py", "features/test_download_all.py"]


def _run(reports: Path, *extra: str) -> None:
    command = [sys.executable, "-m", "pytest", *FEATURES, "-q", "-p", "no:cacheprovider",
               "--summary-json", str(reports / "summary.json"), "--cucumberjson", str(reports / "cucumber.json"),
               "--junitxml", str(reports / "junit.xml"), *extra]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _reports(folder: Path) -> dict[str, Any]:
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    cucumber = json.loads((folder / "cucumber.json").read_text(encoding="utf-8"))
    junit = ET.parse(folder / "junit.xml").getroot()
    return {
        "runs": {row["nodeid"]: (row["outcome"], row.get("scenario"), row.get("runs")) for row in summary["scenarios"]},
        "environments": len(summary["environments"]),
        "cucumber": sorted((element["name"], len(element["steps"])) for feature in cucumber
                           for element in feature["elements"]),
        "junit": sorted(case.get("name", "") for case in junit.iter("testcase")),
    }


@pytest.fixture(scope="module")
def serial_and_parallel(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    serial, parallel = tmp_path_factory.mktemp("serial"), tmp_path_factory.mktemp("parallel")
    _run(serial)
    _run(parallel, "-n", "2")
    return _reports(serial), _reports(parallel)


def test_every_scenario_is_in_each_report_of_a_parallel_run(
        serial_and_parallel: tuple[dict[str, Any], dict[str, Any]]) -> None:
    serial, parallel = serial_and_parallel
    assert len(serial["runs"]) == 7
    assert parallel["cucumber"] == serial["cucumber"] and len(parallel["cucumber"]) == 7
    assert parallel["junit"] == serial["junit"]
    assert set(parallel["runs"]) == set(serial["runs"])


def test_a_parallel_run_gives_the_same_model_time_figures_and_names_each_workers_environment(
        serial_and_parallel: tuple[dict[str, Any], dict[str, Any]]) -> None:
    serial, parallel = serial_and_parallel
    assert parallel["runs"] == serial["runs"]
    assert all(runs for _, _, runs in parallel["runs"].values())  # every scenario ran a task sequence
    assert (serial["environments"], parallel["environments"]) == (1, 2)

"""`cmg-harness report merge`: shards' report folders become one with every scenario once, per environment."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.cli import main
from harness.reporting.merge import MergeError, merge_reports, take_history
from tests.unit.reporting.shards import FEATURE, scenario_name, write_shard


def test_two_shards_make_one_folder_with_every_scenario_once(tmp_path: Path) -> None:
    one = write_shard(tmp_path / "shard-1", range(0, 6), wall_s=12.0)
    two = write_shard(tmp_path / "shard-2", range(6, 10), failed=frozenset({7}), wall_s=15.0)
    written = merge_reports([one, two], tmp_path / "merged")
    assert sorted(written) == ["cucumber.json", "junit.xml", "summary.json"]
    merged = tmp_path / "merged"
    summary = json.loads((merged / "summary.json").read_text(encoding="utf-8"))
    assert summary["totals"] == {"passed": 9, "failed": 1, "error": 0, "skipped": 0}
    assert summary["wall_s"] == 15.0 and [s["wall_s"] for s in summary["shards"]] == [12.0, 15.0]
    assert len(summary["behaviours"]) > 0  # the table is computed again over every row
    junit = ET.parse(merged / "junit.xml").getroot()
    assert len(list(junit.iter("testcase"))) == 10 and junit.get("tests") == "10" and junit.get("failures") == "1"
    cucumber = json.loads((merged / "cucumber.json").read_text(encoding="utf-8"))
    assert [f["uri"] for f in cucumber] == [FEATURE]  # one feature, both shards' scenarios, in line order
    assert [e["name"] for e in cucumber[0]["elements"]] == [scenario_name(i) for i in range(10)]
    assert len(list((merged / "allure-results").glob("*-result.json"))) == 10


def test_environments_stay_apart(tmp_path: Path) -> None:
    local = write_shard(tmp_path / "local", range(0, 3))
    containers = write_shard(tmp_path / "containers", range(0, 3), environment="containers")
    merge_reports([local, containers], tmp_path / "merged")
    names = sorted(p.name for p in (tmp_path / "merged").iterdir() if p.is_file())
    assert names == ["cucumber-containers.json", "cucumber.json", "junit-containers.xml", "junit.xml",
                     "summary-containers.json", "summary.json"]


def test_overlapping_shards_are_refused_naming_the_scenario(tmp_path: Path) -> None:
    one, two = write_shard(tmp_path / "a", range(0, 3)), write_shard(tmp_path / "b", range(2, 4))
    with pytest.raises(MergeError, match=r"test_scenario_02 is in more than one input .*shards must not overlap"):
        merge_reports([one, two], tmp_path / "merged")


@pytest.mark.parametrize(("make", "words"), [
    (lambda tmp: tmp / "missing", "not a folder"),
    (lambda tmp: tmp, "the output folder cannot also be an input"),
    (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", r"no allure-results/, summary\*.json"),
], ids=["missing", "output-is-input", "empty"])
def test_a_folder_that_cannot_be_merged_is_named(tmp_path: Path, make: object, words: str) -> None:
    folder = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(MergeError, match=words):
        merge_reports([folder], tmp_path)


def test_the_previous_reports_history_is_carried_into_the_output(tmp_path: Path) -> None:
    previous = tmp_path / "previous"
    previous.mkdir()
    (previous / "history.jsonl").write_text('{"uuid": "a"}\n', encoding="utf-8")
    (tmp_path / "out").mkdir()
    take_history(previous, tmp_path / "out")
    assert (tmp_path / "out" / "history.jsonl").read_text(encoding="utf-8") == '{"uuid": "a"}\n'
    with pytest.raises(MergeError, match="no Allure history there"):
        take_history(tmp_path / "nowhere.jsonl", tmp_path / "out")


def test_the_command_says_what_is_wrong_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "merge", str(tmp_path / "missing"), "--output", str(tmp_path / "out")]) == 2
    assert "cmg-harness report merge: " in capsys.readouterr().err


def test_what_an_earlier_run_left_in_the_output_is_not_merged_in(tmp_path: Path) -> None:
    merged = write_shard(tmp_path / "merged", range(0, 20), environment="containers")  # an older run's folder
    merge_reports([write_shard(tmp_path / "shard-1", range(0, 2))], merged)
    assert not (merged / "summary-containers.json").exists()
    assert len(list((merged / "allure-results").glob("*-result.json"))) == 2

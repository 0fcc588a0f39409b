"""`cmg-harness report check`: a merged report of two shards, read in headless Chromium, shows every scenario
and the behaviour table as the summaries say; a report built from one shard's results does not pass."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.environments.local import PROJECT_ROOT
from harness.reporting.browser_check import check_report, find_chromium
from harness.reporting.report_folder import build_html
from tests.unit.reporting.shards import write_shard

pytestmark = [
    pytest.mark.skipif(not (PROJECT_ROOT / "node_modules" / ".bin" / "allure").exists(),
                       reason="Allure Report 3 is not installed: run npm ci"),
    # CI installs Chromium (scripts/browser), so there a missing one fails rather than skips.
    pytest.mark.skipif(find_chromium() is None and not os.environ.get("CI"),
                       reason="no Chromium: install Debian's (scripts/browser) or set CHROMIUM"),
]


@pytest.fixture
def merged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Named by relative paths, as CI names them: the HTML build runs from the report folder."""
    write_shard(tmp_path / "shard-1", range(0, 5))
    write_shard(tmp_path / "shard-2", range(5, 9), failed=frozenset({6}))
    monkeypatch.chdir(tmp_path)
    assert main(["report", "merge", "shard-1", "shard-2", "--output", "merged"]) == 0
    return tmp_path / "merged"


def test_a_merged_report_shows_both_shards(merged: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_report(merged) == []
    assert main(["report", "check", str(merged)]) == 0
    assert "every scenario result and the behaviour table as the summaries say" in capsys.readouterr().out


def test_a_report_that_lost_a_shard_fails_the_check(merged: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    results = merged / "allure-results"
    shard_two = {p.name for p in (tmp_path / "shard-2" / "allure-results").iterdir()}
    for name in shard_two:
        (results / name).unlink()
    build_html(results, merged / "html")
    assert check_report(merged) == ["the report shows 5 results; the summaries have 9 scenarios"]
    assert main(["report", "check", str(merged)]) == 1
    assert "the report shows 5 results" in capsys.readouterr().err


def test_a_folder_without_a_report_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(tmp_path / "html", ignore_errors=True)
    assert main(["report", "check", str(tmp_path)]) == 2
    assert "no HTML report" in capsys.readouterr().err

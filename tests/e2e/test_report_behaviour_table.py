"""The behaviour table shows in the Allure HTML report, checked in a real browser: Debian's Chromium, driven
headless by Playwright through `executable_path` (Playwright's own browser download needs the internet).

The report is built as `cmg-harness run` builds it, from two environments' summaries, and served over HTTP
(Allure 3 fetches its data, which a file:// page may not). Set CHROMIUM to use another Chromium binary.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.environments.local import PROJECT_ROOT
from harness.reporting.behaviour_html import ATTACHMENT_NAME
from harness.reporting.behaviour_results import BEHAVIOURS
from harness.reporting.behaviours import load_behaviours
from harness.reporting.browser_check import find_chromium, serving
from harness.reporting.report_folder import build_html, write_behaviour_table

CHROMIUM = find_chromium()
# A B-01 scenario (outline row), passed on one environment and failed on the other.
B01_ROW = {"nodeid": "features/test_cloud_distribution_point.py::test_an_inplace_upgrade[2403]",
           "scenario": "An in-place upgrade over the CMG with all content from a cloud DP first (2403)"}
GREEN, RED = "rgb(46, 125, 50)", "rgb(198, 40, 40)"

pytestmark = [
    pytest.mark.skipif(not (PROJECT_ROOT / "node_modules" / ".bin" / "allure").exists(),
                       reason="Allure Report 3 is not installed: run npm ci"),
    # CI installs Chromium (scripts/browser), so there a missing one fails rather than skips.
    pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                       reason="no Chromium: install Debian's (scripts/browser) or set CHROMIUM"),
]


def _summary(environment: str, outcome: str) -> dict[str, Any]:
    return {"environment": {"name": environment}, "scenarios": [{**B01_ROW, "outcome": outcome}]}


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """reports/ after `cmg-harness run --env local` and `--env containers --append`: B-01 passed on local and
    failed on containers; the HTML report built from the results."""
    results = tmp_path / "allure-results"
    results.mkdir()
    result = {"uuid": str(uuid.uuid4()), "name": "a scenario", "fullName": "a scenario", "status": "passed",
              "stage": "finished", "start": 1, "stop": 2, "labels": [{"name": "feature", "value": "Report"}]}
    (results / f"{result['uuid']}-result.json").write_text(json.dumps(result), encoding="utf-8")
    (tmp_path / "summary.json").write_text(json.dumps(_summary("local", "passed")), encoding="utf-8")
    (tmp_path / "summary-containers.json").write_text(json.dumps(_summary("containers", "failed")),
                                                      encoding="utf-8")
    write_behaviour_table(tmp_path, results)
    build_html(results, tmp_path / "html")
    return tmp_path / "html"


@pytest.fixture
def served(report: Path) -> Iterator[str]:
    with serving(report) as url:
        yield url


def test_the_report_shows_every_behaviour_with_its_result_per_environment(served: str, tmp_path: Path) -> None:
    assert CHROMIUM is not None, "no Chromium: install Debian's (scripts/browser) or set CHROMIUM"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(20_000)
            page.goto(served)
            page.get_by_test_id("nav-tab-globalAttachments").click()
            header = page.get_by_test_id("test-result-attachment-header").filter(has_text=ATTACHMENT_NAME)
            header.click()
            frame = page.frame_locator("iframe").first
            frame.locator("tr[data-behaviour]").first.wait_for()
            page.screenshot(path=str(tmp_path / "behaviour-table.png"))  # kept with the test's files

            documented = [b.id for b in load_behaviours(BEHAVIOURS)]
            rows = frame.locator("tbody tr[data-behaviour]")
            assert [rows.nth(i).get_attribute("data-behaviour") for i in range(rows.count())] == documented
            headings = frame.locator("thead th").all_inner_texts()
            assert headings[:4] == ["Behaviour", "Title", "containers", "local"], headings

            local = frame.locator('td[data-behaviour="B-01"][data-environment="local"]')
            containers = frame.locator('td[data-behaviour="B-01"][data-environment="containers"]')
            assert local.inner_text() == "passed" and containers.inner_text() == "failed"
            assert local.evaluate("cell => getComputedStyle(cell).backgroundColor") == GREEN
            assert containers.evaluate("cell => getComputedStyle(cell).backgroundColor") == RED
            assert frame.locator('td[data-behaviour="B-02"][data-environment="local"]').inner_text() == "not run"
            links = frame.locator('tr[data-behaviour="B-01"] a[href^="https://"]')
            assert links.count() >= 1  # its public sources, as links
            totals = frame.locator("tfoot td[data-environment]").all_inner_texts()
            assert totals == [f"0 of {len(documented)} passed", f"1 of {len(documented)} passed"]
        finally:
            browser.close()

"""`cmg-harness report check DIR`: open a report folder's HTML report in headless Chromium and check that it
shows what the folder's summaries say — every scenario result, and the behaviour table with each behaviour's
result in each environment.

It reads the page as a person would (Allure 3's tabs, the attachment's table), so it fails on a report that
was built but shows nothing, or shows one shard of two. Chromium is Debian's package (`scripts/browser`),
driven by Playwright through `executable_path`; set CHROMIUM to use another one.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness.reporting.behaviour_html import ATTACHMENT_NAME
from harness.reporting.behaviour_results import table_for_reports

TIMEOUT_MS = 20_000


class CheckError(RuntimeError):
    """The check could not run (no Chromium, no Playwright, no report): the message says what to install."""


def find_chromium() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the base class's parameter name
        pass


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """`folder` over HTTP on 127.0.0.1 (Allure 3 fetches its data, which a file:// page may not); yields the
    index page's URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, name="report-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def check_report(reports: Path, screenshot: Path | None = None) -> list[str]:
    """The differences between what `reports/html` shows and what `reports`' summaries say; empty when none."""
    html = reports / "html" / "index.html"
    if not html.is_file():
        raise CheckError(f"{html}: no HTML report (cmg-harness run or report merge builds it)")
    table, summaries = table_for_reports(reports)
    if not summaries:
        raise CheckError(f"{reports}: no summary*.json to check the report against")
    expected = {row["id"]: row["results"] for row in table}
    # A summary of every test (scripts/test --summary-json) has rows for plain tests, which Allure leaves out.
    scenarios = sum(1 for rows in summaries.values() for row in rows if row.get("scenario"))
    shown = _read_report(html.parent, screenshot)
    problems = []
    if shown["results"] != scenarios:
        problems.append(f"the report shows {shown['results']} results; the summaries have {scenarios} scenarios")
    if shown["behaviours"] != expected:
        wrong = sorted(b for b in expected.keys() | shown["behaviours"].keys()
                       if expected.get(b) != shown["behaviours"].get(b))
        problems.append(f"the behaviour table differs from the summaries for {', '.join(wrong[:10])}"
                        + (f" and {len(wrong) - 10} more" if len(wrong) > 10 else ""))
    return problems


def _read_report(folder: Path, screenshot: Path | None) -> dict[str, Any]:
    chromium = find_chromium()
    if chromium is None:
        raise CheckError("no Chromium: install Debian's (scripts/browser) or set CHROMIUM")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise CheckError("no Playwright: pip install 'cmg-content-harness[dev]'") from None
    with serving(folder) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url)
            results = int(page.get_by_test_id("nav-tab-results").get_by_test_id("counter").inner_text())
            page.get_by_test_id("nav-tab-globalAttachments").click()
            page.get_by_test_id("test-result-attachment-header").filter(has_text=ATTACHMENT_NAME).click()
            frame = page.frame_locator("iframe").first
            frame.locator("tr[data-behaviour]").first.wait_for()
            if screenshot is not None:
                page.screenshot(path=str(screenshot))
            cells = frame.locator("td[data-result]").evaluate_all(
                "cells => cells.map(c => [c.dataset.behaviour, c.dataset.environment, c.dataset.result])")
        finally:
            browser.close()
    behaviours: dict[str, dict[str, str]] = {}
    for behaviour, environment, result in cells:
        behaviours.setdefault(behaviour, {})[environment] = result
    return {"results": results, "behaviours": behaviours}

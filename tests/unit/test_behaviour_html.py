"""The behaviour table's page: a row per behaviour, a cell per environment with its result, text escaped, and
the Allure global attachment that puts the page in the HTML report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.reporting.behaviour_html import (
    ATTACHMENT_FILE,
    ATTACHMENT_NAME,
    GLOBALS_FILE,
    attach_to_allure_results,
    render_page,
)

URL = "https://learn.microsoft.com/en-us/mem/configmgr/core/clients/manage/cmg/supported-configurations"


def _row(behaviour: str, results: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"id": behaviour, "title": "A <title> & more", "sources": [URL], "inference": None,
            "scenarios": ["a.feature: A scenario"], "results": results, **extra}


def test_each_environment_is_a_column_and_each_result_a_cell() -> None:
    page = render_page([_row("B-01", {"local": "passed", "containers": "failed"}),
                        _row("B-02", {"local": "not run"})])
    assert "<th>containers</th><th>local</th>" in page
    assert 'data-behaviour="B-01" data-environment="containers" data-result="failed">failed</td>' in page
    assert 'data-behaviour="B-02" data-environment="containers" data-result="not run">not run</td>' in page
    assert '<td data-environment="local">1 of 2 passed</td>' in page


def test_text_is_escaped_and_sources_are_short_links() -> None:
    page = render_page([_row("B-01", {"local": "passed"}, inference="chose <this>")])
    assert "A &lt;title&gt; &amp; more" in page and "<title> &" not in page
    assert "[INFERENCE] chose &lt;this&gt;" in page
    assert f'<a href="{URL}" title="{URL}">learn.microsoft.com/…/cmg/supported-configurations</a>' in page


def test_the_page_goes_into_the_allure_results_as_a_global_attachment(tmp_path: Path) -> None:
    attach_to_allure_results(tmp_path, "<p>first</p>")
    attach_to_allure_results(tmp_path, "<p>second</p>")  # an appended run replaces the table
    globals_ = json.loads((tmp_path / GLOBALS_FILE).read_text(encoding="utf-8"))
    assert globals_["attachments"] == [{"name": ATTACHMENT_NAME, "source": ATTACHMENT_FILE, "type": "text/html"}]
    assert (tmp_path / ATTACHMENT_FILE).read_text(encoding="utf-8") == "<p>second</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([GLOBALS_FILE, ATTACHMENT_FILE])

"""The behaviour table as a page of its own, and in the Allure report.

`cmg-harness run` writes the page twice: as `reports/behaviours.html`, and into the Allure results as a global
attachment (a `*-globals.json` file naming it, which Allure 3 reads as allure-js writes it), so the HTML report
shows it under "Global attachments" beside the scenarios. Both carry every environment whose summary is in the
reports folder: after `--env local` and `--env containers --append`, one table with a column for each.

The page is self-contained (inline style, no script), so it opens the same from the report, a CI artefact or a
mail. Cells carry `data-behaviour`, `data-environment` and `data-result`, for tools that check the page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.reporting.behaviour_results import FAILED, NOT_RUN, PARTLY, PASSED

# Fixed names: an appended run replaces the table rather than adding a second one.
GLOBALS_FILE = "behaviours-globals.json"
ATTACHMENT_FILE = "behaviours-attachment.html"
ATTACHMENT_NAME = "Behaviour table (sign-off)"

_COLOURS = {PASSED: "#2e7d32", FAILED: "#c62828", PARTLY: "#ef6c00", NOT_RUN: "#757575"}
_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ddd; padding: .4em .6em; text-align: left; vertical-align: top; }
th { background: #f5f5f5; position: sticky; top: 0; }
td.result { color: #fff; font-weight: 600; white-space: nowrap; }
td.id { white-space: nowrap; font-family: monospace; }
ul { margin: 0; padding-left: 1.2em; }
.inference { color: #8d6e63; font-size: 90%; }
.totals td { font-weight: 600; }
"""


def render_page(table: Sequence[Mapping[str, Any]], title: str = "Behaviour table") -> str:
    """The table as a whole HTML page: a row per behaviour, a result column per environment, then totals."""
    environments = sorted({env for row in table for env in row["results"]})
    head = "".join(f"<th>{escape(env)}</th>" for env in environments)
    rows = "\n".join(_row(row, environments) for row in table)
    totals = "".join(f"<td data-environment=\"{escape(env)}\">{_passed(table, env)} of {len(table)} passed</td>"
                     for env in environments)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>\n<h1>{escape(title)}</h1>\n"
            "<p>Each documented product behaviour (docs/behaviour.md), its public sources, the scenarios tagged "
            "with it, and their result in each environment.</p>\n"
            f"<table id=\"behaviours\"><thead><tr><th>Behaviour</th><th>Title</th>{head}<th>Scenarios</th>"
            f"<th>Sources</th></tr></thead>\n<tbody>\n{rows}\n</tbody>\n"
            f"<tfoot><tr class=\"totals\"><td colspan=\"2\">Passed</td>{totals}<td colspan=\"2\"></td></tr></tfoot>"
            "</table>\n</body></html>\n")


def _row(row: Mapping[str, Any], environments: Sequence[str]) -> str:
    behaviour = escape(str(row["id"]))
    results = "".join(_result(behaviour, env, str(row["results"].get(env, NOT_RUN))) for env in environments)
    scenarios = _list(escape(s) for s in row["scenarios"])
    sources = _list(f"<a href=\"{escape(url)}\" title=\"{escape(url)}\">{escape(_short(url))}</a>"
                    for url in row["sources"])
    inference = f"<div class=\"inference\">[INFERENCE] {escape(row['inference'])}</div>" if row["inference"] else ""
    return (f"<tr data-behaviour=\"{behaviour}\"><td class=\"id\">{behaviour}</td>"
            f"<td>{escape(str(row['title']))}{inference}</td>{results}<td>{scenarios}</td><td>{sources}</td></tr>")


def _result(behaviour: str, environment: str, result: str) -> str:
    colour = _COLOURS.get(result, _COLOURS[NOT_RUN])
    return (f"<td class=\"result\" style=\"background:{colour}\" data-behaviour=\"{behaviour}\" "
            f"data-environment=\"{escape(environment)}\" data-result=\"{escape(result)}\">{escape(result)}</td>")


def _short(url: str) -> str:
    """learn.microsoft.com/…/cmg/supported-configurations: the host and the last two parts of the path, so
    the column stays narrow; the whole URL is the link and its tooltip."""
    parts = urlsplit(url)
    path = [part for part in parts.path.split("/") if part]
    tail = "/".join(path[-2:])
    shown = f"{parts.netloc}/…/{tail}" if len(path) > 2 else f"{parts.netloc}/{tail}"
    return shown + (f"#{parts.fragment}" if parts.fragment else "")


def _list(items: Any) -> str:
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def _passed(table: Sequence[Mapping[str, Any]], environment: str) -> int:
    return sum(row["results"].get(environment) == PASSED for row in table)


def attach_to_allure_results(results: Path, page: str) -> Path:
    """Put `page` into the Allure results folder as a global attachment; returns the attachment's path."""
    results.mkdir(parents=True, exist_ok=True)
    attachment = results / ATTACHMENT_FILE
    attachment.write_text(page, encoding="utf-8")
    globals_ = {"attachments": [{"name": ATTACHMENT_NAME, "source": ATTACHMENT_FILE, "type": "text/html"}],
                "errors": []}
    (results / GLOBALS_FILE).write_text(json.dumps(globals_), encoding="utf-8")
    return attachment

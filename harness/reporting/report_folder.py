"""The report folder a run writes (`reports/` by default): starting it afresh, the behaviour table, and the
Allure HTML built from the results in it."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

from harness.reporting.behaviour_html import attach_to_allure_results, render_page
from harness.reporting.behaviour_results import table_for_reports

PROJECT_ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("cmg_harness")


def clear_reports(reports: Path) -> None:
    """A run that does not --append starts the folder afresh, as Allure's results do (--clean-alluredir): an
    earlier run's summary of another environment would otherwise show in the behaviour table as this run's."""
    for pattern in ("summary*.json", "junit*.xml", "cucumber*.json", "behaviours.html"):
        for stale in reports.glob(pattern):
            stale.unlink()


def write_behaviour_table(reports: Path, results: Path) -> None:
    """The behaviour table of every environment reported so far: reports/behaviours.html, and a global attachment
    in the Allure results, so the HTML report shows it too."""
    page = render_page(table_for_reports(reports)[0])
    (reports / "behaviours.html").write_text(page, encoding="utf-8")
    attach_to_allure_results(results, page)


def build_html(results: Path, output: Path) -> None:
    """Allure Report 3 (npm `allure`), with history kept beside the report for trends."""
    results, output = results.resolve(), output.resolve()  # allure runs from the report folder, not from here
    allure = PROJECT_ROOT / "node_modules" / ".bin" / "allure"
    if not allure.exists():
        found = shutil.which("allure")
        if found is None:
            log.error("Allure Report 3 not found: run `npm ci` in %s to build the HTML report", PROJECT_ROOT)
            return
        allure = Path(found)
    # A fresh folder each time: given a non-empty one, Allure 3 writes the new report into a subfolder
    # and leaves the old index.html in place (seen with allure 3.18). Trends come from history.jsonl.
    shutil.rmtree(output, ignore_errors=True)
    command = [str(allure), "generate", str(results), "--config", str(PROJECT_ROOT / "allurerc.mjs"),
               "--output", str(output)]
    # Run from the reports folder: allurerc.mjs's relative historyPath then keeps history beside the report.
    output.parent.mkdir(parents=True, exist_ok=True)
    if subprocess.call(command, cwd=output.parent, stdout=subprocess.DEVNULL) != 0:
        log.error("allure generate failed: %s", " ".join(command))

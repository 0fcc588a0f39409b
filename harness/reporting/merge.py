"""`cmg-harness report merge DIR…`: the report folders of several runs (shards, environments, machines) as one.

Each DIR is a folder `cmg-harness run --reports DIR` wrote: `allure-results/`, and per environment a JUnit
file, a Cucumber JSON file and a summary (`junit.xml`, `cucumber.json`, `summary.json` for local;
`junit-containers.xml`, … for the others). The merged folder has the same shape, so everything that reads one
run's reports reads it: the behaviour table (`cmg-harness behaviours --reports OUT`), dashboards, the HTML.

- Allure results are copied side by side (their files are named by UUID); the HTML report is then built from
  them with the history file of the output folder, or one given with `--history`, so trends and flaky marks
  carry across runs.
- JUnit files of one environment are merged with junitparser: one `<testsuites>` with every shard's suites.
- Cucumber files: a feature that several shards ran is one feature with all their scenarios, in line order.
- Summaries: every scenario row, totals counted again, every environment that started, the behaviour table
  computed again; `wall_s` is the slowest shard's (shards run side by side), `shards` lists each one's.

A scenario that two inputs both report (the same shard given twice, overlapping `-k`) is refused: its result
would be counted twice.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from junitparser import JUnitXml

from harness.reporting.behaviour_results import table_for_rows
from harness.reporting.report_folder import clear_reports

RESULTS = "allure-results"
KINDS = (("summary", ".json"), ("junit", ".xml"), ("cucumber", ".json"))


class MergeError(ValueError):
    """The inputs cannot be merged: the message names the folder or the scenario."""


def merge_reports(inputs: Sequence[Path], output: Path) -> dict[str, list[str]]:
    """Merge `inputs` into `output` (created if need be; it may be one of the inputs' parent, not an input).
    Returns, per written file name, the input files it came from."""
    _check_inputs(inputs, output)
    output.mkdir(parents=True, exist_ok=True)
    clear_reports(output)  # an earlier merge's or run's files would otherwise count as these inputs'
    shutil.rmtree(output / RESULTS, ignore_errors=True)
    _copy_results(inputs, output / RESULTS)
    written: dict[str, list[str]] = {}
    for name in sorted({path.name for folder in inputs for path in _report_files(folder)}):
        sources = [folder / name for folder in inputs if (folder / name).is_file()]
        _MERGERS[_kind(name)](sources, output / name)
        written[name] = [str(source) for source in sources]
    return written


def _check_inputs(inputs: Sequence[Path], output: Path) -> None:
    if not inputs:
        raise MergeError("no report folder to merge: name one or more folders that `cmg-harness run` wrote")
    for folder in inputs:
        if not folder.is_dir():
            raise MergeError(f"{folder}: not a folder")
        if folder.resolve() == output.resolve():
            raise MergeError(f"{folder}: the output folder cannot also be an input")
        if not (folder / RESULTS).is_dir() and not any(_report_files(folder)):
            raise MergeError(f"{folder}: no allure-results/, summary*.json, junit*.xml or cucumber*.json in it")


def _report_files(folder: Path) -> Iterable[Path]:
    for prefix, suffix in KINDS:
        yield from (path for path in folder.glob(f"{prefix}*{suffix}") if _kind(path.name) == prefix)


def _kind(name: str) -> str:
    """summary, junit or cucumber, for `summary.json`, `junit-containers.xml`, …; '' for anything else."""
    for prefix, suffix in KINDS:
        middle = name.removeprefix(prefix).removesuffix(suffix)
        if name.startswith(prefix) and name.endswith(suffix) and (middle == "" or middle.startswith("-")):
            return prefix
    return ""


def _copy_results(inputs: Sequence[Path], into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    for folder in inputs:
        results = folder / RESULTS
        for path in sorted(results.iterdir()) if results.is_dir() else ():
            if path.is_file() and not path.name.startswith("behaviours-"):  # the table is written afresh
                shutil.copy2(path, into / path.name)


# -- one merger per kind of file --------------------------------------------------------------------------------

def _merge_summaries(sources: Sequence[Path], target: Path) -> None:
    summaries = [json.loads(path.read_text(encoding="utf-8")) for path in sources]
    rows: dict[str, dict[str, Any]] = {}
    for path, summary in zip(sources, summaries, strict=True):
        for row in summary.get("scenarios", []):
            if row["nodeid"] in rows:
                raise MergeError(f"{row['nodeid']} is in more than one input (again in {path}): "
                                 "shards must not overlap")
            rows[row["nodeid"]] = row
    environments = [env for summary in summaries for env in summary.get("environments", [])]
    named = next((s["environment"] for s in summaries if s.get("environment")), None)
    merged = {"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "wall_s": max((float(s.get("wall_s", 0)) for s in summaries), default=0.0),
              "shards": [{"from": str(path), "wall_s": s.get("wall_s"), "totals": s.get("totals")}
                         for path, s in zip(sources, summaries, strict=True)],
              "environment": named, "environments": environments,
              "totals": {k: sum(1 for r in rows.values() if r["outcome"] == k)
                         for k in ("passed", "failed", "error", "skipped")},
              "scenarios": list(rows.values()),
              "behaviours": table_for_rows(rows.values(), str((named or {}).get("name", "local")))}
    target.write_text(json.dumps(merged, indent=2), encoding="utf-8")


def _merge_junit(sources: Sequence[Path], target: Path) -> None:
    merged = JUnitXml()
    for path in sources:
        try:
            merged += JUnitXml.fromfile(str(path))
        except Exception as error:  # junitparser raises lxml's or ElementTree's own errors
            raise MergeError(f"{path}: not a JUnit XML file ({error})") from None
    merged.update_statistics()  # type: ignore[no-untyped-call]  # junitparser has no annotations there
    merged.write(str(target))


def _merge_cucumber(sources: Sequence[Path], target: Path) -> None:
    features: dict[str, dict[str, Any]] = {}
    for path in sources:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise MergeError(f"{path}: a Cucumber JSON file is a list of features")
        for feature in data:
            known = features.setdefault(feature["uri"], {**feature, "elements": []})
            known["elements"].extend(feature.get("elements", []))
    for feature in features.values():
        feature["elements"].sort(key=lambda element: element.get("line", 0))
    target.write_text(json.dumps(list(features.values()), indent=2), encoding="utf-8")


_MERGERS = {"summary": _merge_summaries, "junit": _merge_junit, "cucumber": _merge_cucumber}


def take_history(history: Path | None, output: Path) -> None:
    """Carry the previous report's Allure history (`history.jsonl`, or a report folder holding one) into
    `output`, where the HTML build reads and extends it."""
    if history is None:
        return
    source = history / "history.jsonl" if history.is_dir() else history
    if not source.is_file():
        raise MergeError(f"{history}: no Allure history there (history.jsonl)")
    target = output / "history.jsonl"
    if source.resolve() != target.resolve():
        shutil.copy2(source, target)

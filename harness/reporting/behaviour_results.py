"""The behaviour table of a run, for acceptance sign-off: each documented behaviour (docs/behaviour.md), its
sources, the scenarios that exercise it, and how they came out in each environment.

A scenario's outcome comes from a summary.json (harness/reporting/pytest_plugin.py): its rows name the
binding module (`features/test_<name>.py`, which binds `<name>.feature`) and the scenario. An outline's rows
carry the name with each example's values in it: a `<placeholder>` of the template matches any text. In an environment a
behaviour failed when one of its scenarios failed; passed when every one of them ran and passed; was partly run
when those that ran passed but some did not run (`-k`, a skip); and was not run when none ran.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.reporting.behaviours import Behaviour, load_behaviours, scenario_behaviours

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BEHAVIOURS = PROJECT_ROOT / "docs" / "behaviour.md"
FEATURES = PROJECT_ROOT / "features"
PASSED, FAILED, PARTLY, NOT_RUN = "passed", "failed", "partly run", "not run"


def scenario_key(row: Mapping[str, Any]) -> str | None:
    """The "<feature file>: <scenario>" a summary row is a run of; None for a row that is not a scenario."""
    module = str(row.get("nodeid", "")).split("::", 1)[0]
    name = Path(module).name
    if not (name.startswith("test_") and name.endswith(".py")) or not row.get("scenario"):
        return None
    return f"{name.removeprefix('test_').removesuffix('.py')}.feature: {row['scenario']}"


def outcome(by_scenario: Mapping[str, list[Mapping[str, Any]]], scenarios: Iterable[str]) -> str:
    """One behaviour's result from the rows of its scenarios (an outline has a row per example)."""
    ran = {s: [str(r["outcome"]) for key, rows in by_scenario.items() if _pattern(s).fullmatch(key)
               for r in rows if r["outcome"] != "skipped"] for s in scenarios}
    outcomes = [o for found in ran.values() for o in found]
    if any(o != "passed" for o in outcomes):
        return FAILED
    if not outcomes:
        return NOT_RUN
    return PASSED if all(ran.values()) else PARTLY


def _pattern(tagged: str) -> re.Pattern[str]:
    """What the row keys of a tagged scenario look like: the template's `<placeholders>` match any text."""
    parts = re.split(r"<[^<>]+>", tagged)
    return re.compile(".+?".join(re.escape(part) for part in parts))


def behaviour_table(behaviours: list[Behaviour], tagged: Mapping[str, list[str]],
                    summaries: Mapping[str, Iterable[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """One row per behaviour: id, title, sources, inference, scenarios, and {environment: result}."""
    by_environment = {env: _rows_by_scenario(rows) for env, rows in summaries.items()}
    table = []
    for behaviour in behaviours:
        scenarios = list(tagged.get(behaviour.id, []))
        results = {env: outcome(rows, scenarios) for env, rows in by_environment.items()}
        table.append({"id": behaviour.id, "title": behaviour.title, "sources": list(behaviour.sources),
                      "inference": behaviour.inference, "scenarios": scenarios, "results": results})
    return table


def _rows_by_scenario(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    found: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        key = scenario_key(row)
        if key is not None:
            found.setdefault(key, []).append(row)
    return found


def table_for_rows(rows: Iterable[Mapping[str, Any]], environment: str) -> list[dict[str, Any]]:
    """The table of one session's summary rows, from the project's docs/behaviour.md and features/."""
    return behaviour_table(load_behaviours(BEHAVIOURS), scenario_behaviours(FEATURES), {environment: list(rows)})


def table_for_reports(reports: Path) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The table of every environment whose summary is in `reports`, and those summaries' rows."""
    summaries = load_summaries(reports) if reports.is_dir() else {}
    return behaviour_table(load_behaviours(BEHAVIOURS), scenario_behaviours(FEATURES), summaries), summaries


def load_summaries(reports: Path) -> dict[str, list[dict[str, Any]]]:
    """Each environment's scenario rows from the summary*.json files in `reports` (one per environment a run
    wrote: summary.json for local, summary-containers.json, …), keyed by the environment's name."""
    summaries: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(reports.glob("summary*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        # A summary with no scenario run names no environment: its file's name does (summary.json is local's).
        named = path.stem.removeprefix("summary").removeprefix("-") or "local"
        environment = (data.get("environment") or {}).get("name") or named
        summaries.setdefault(str(environment), []).extend(data.get("scenarios", []))
    return summaries


def render(table: list[dict[str, Any]]) -> str:
    """The table for people: one line per behaviour, a column per environment."""
    environments = sorted({env for row in table for env in row["results"]})
    header = f"{'behaviour':<9} {'scenarios':>9}  " + "".join(f"{env:<13}" for env in environments) + "title"
    lines = [header]
    for row in table:
        cells = "".join(f"{row['results'][env]:<13}" for env in environments)
        lines.append(f"{row['id']:<9} {len(row['scenarios']):>9}  {cells}{row['title']}")
    passed = {env: sum(row["results"][env] == PASSED for row in table) for env in environments}
    lines.append("")
    lines += [f"{env}: {count} of {len(table)} behaviours passed" for env, count in passed.items()]
    return "\n".join(lines)

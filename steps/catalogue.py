"""Builds features/STEPS.md, the step catalogue for scenario writers, from the step definitions.

    python -m steps.catalogue          rewrite features/STEPS.md
    python -m steps.catalogue --check  exit 1 if the file is out of date

Every step is listed with its pattern, what it does (the function's docstring or first comment),
and one real example taken from the feature files. tests/unit/test_step_catalogue.py keeps the
file in sync and fails when a step is used by no scenario.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

from pytest_bdd.feature import get_features
from pytest_bdd.steps import StepFunctionContext, step_function_context_registry

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "features" / "STEPS.md"
MODULES = ("steps.given_site", "steps.given_client", "steps.when_run", "steps.then_outcome",
           "steps.then_steps_and_content", "steps.given_faults", "steps.given_network", "steps.then_timing",
           "steps.then_network")
HEADINGS = {"steps.given_site": "Given — the site", "steps.given_client": "Given — clients",
            "steps.when_run": "When — running the task sequence", "steps.then_outcome": "Then — outcomes",
            "steps.then_steps_and_content": "Then — steps, variables and the client's disk",
            "steps.given_faults": "Faults in the content sources, and retries, fallback and resume (Given, When, Then)",
            "steps.given_network": "Given — the network and Azure storage (outages, links, throttling, cuts)",
            "steps.then_timing": "Then — timing in model time (tolerances measured, see harness/model/timing.py)",
            "steps.then_network": "Then — what crossed the network"}


@dataclass(frozen=True)
class Entry:
    module: str
    keyword: str
    pattern: str
    summary: str
    example: str | None


def step_contexts() -> list[StepFunctionContext]:
    for module in MODULES:
        importlib.import_module(module)
    return [c for c in step_function_context_registry.values() if c.step_func.__module__ in MODULES]


def feature_steps() -> list[tuple[str, str, str]]:
    """(type, rendered text, 'file:line') of every step of every scenario, outlines with each example row."""
    found = []
    for feature in get_features([str(ROOT / "features")]):
        for template in feature.scenarios.values():
            contexts = [c for e in template.examples for c in e.as_contexts()] or [{}]
            for context in contexts:
                for step in template.render(context).steps:
                    found.append((step.type, step.name, f"{Path(feature.filename).name}:{step.line_number}"))
    return found


def entries() -> list[Entry]:
    steps = feature_steps()
    result = []
    for context in step_contexts():
        keyword = context.type or "step"
        example = next((f"{keyword.capitalize()} {text}  ({where})" for kind, text, where in steps
                        if kind == context.type and context.parser.is_matching(text)), None)
        result.append(Entry(context.step_func.__module__, keyword, context.parser.name,
                            _summary(context), example))
    return result


def _summary(context: StepFunctionContext) -> str:
    doc = inspect.getdoc(context.step_func)
    return doc.splitlines()[0] if doc else ""


# The tags that change how a scenario runs (tests/unit/test_fault_tags.py and test_matrix_coverage.py keep
# the first and last honest).
TAGS = (
    "Model time: scenarios run on a virtual clock by default. Time stands still while the steps set things up",
    "and jumps whenever every actor of the emulated world waits, so durations are exact (timing steps judge",
    "them to the second) and a 4-hour step costs no more real time than a 4-minute one. Durations and sizes are",
    "always written in model units; `--clock real` runs on real time × scale instead.",
    "",
    "Tags that change how a scenario runs:",
    "",
    "- `@faults` — the scenario arms an HTTP or network fault (any step of `steps/given_network.py`, and the",
    "  fault steps of `steps/given_faults.py` and `steps/given_site.py`); required on those and only those, and",
    "  such scenarios are skipped on an environment without a fault API (`--env external` on a lab).",
    "- `@scale:<factor>` — runs in an environment at that scale (model bytes per physical byte; a real-clock",
    "  timing scenario uses 250); skipped on an external environment at another scale.",
    "- `@clock:real` — runs on the real clock: for faults that do not wait on the virtual clock yet (the fault",
    "  proxy's bandwidth, latency and slicer, a content service's delay); such timings are judged with the",
    "  tolerance measured for the real clock.",
    "- `@matrix:<capability>` — the capability-matrix row the scenario exercises (`cmg-harness matrix`).",
)


def render() -> str:
    lines = ["# Step catalogue", "",
             "Every step the scenarios can use, with one example from the feature files. Generated by",
             "`python -m steps.catalogue` from `steps/`; a test fails when this file is out of date.", "",
             *TAGS, ""]
    for module in MODULES:
        lines += [f"## {HEADINGS[module]}", "", f"Defined in `{module.replace('.', '/')}.py`.", ""]
        for entry in (e for e in entries() if e.module == module):
            lines.append(f"- **{entry.keyword.capitalize()}** `{entry.pattern}`")
            if entry.summary:
                lines.append(f"  — {entry.summary}")
            lines.append(f"  - e.g. `{entry.example}`" if entry.example else "  - (not used by any scenario yet)")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = CATALOGUE.read_text(encoding="utf-8") if CATALOGUE.exists() else ""
        if current != text:
            print(f"{CATALOGUE} is out of date: run python -m steps.catalogue", file=sys.stderr)
            return 1
        return 0
    CATALOGUE.write_text(text, encoding="utf-8")
    print(f"wrote {CATALOGUE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

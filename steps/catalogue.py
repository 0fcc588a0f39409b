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
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from pytest_bdd import parsers
from pytest_bdd.feature import get_features
from pytest_bdd.steps import StepFunctionContext, step_function_context_registry

from harness.environments.emulated import Topology
from harness.model.timing import EXACT_MODEL_SECONDS, Tolerance
from harness.model.units import Scale
from steps.patterns import placeholders, readable
from steps.refusals import client_refusals, site_refusals
from steps.vocabulary import PLACEHOLDERS

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "features" / "STEPS.md"
MODULES = ("steps.given_site", "steps.given_client", "steps.when_run", "steps.then_outcome",
           "steps.then_steps_and_content", "steps.given_faults", "steps.given_network", "steps.then_sources",
           "steps.then_timing", "steps.then_network", "steps.then_logs", "steps.load", "steps.fleet")
HEADINGS = {"steps.given_site": "Given — the site", "steps.given_client": "Given — clients",
            "steps.when_run": "When — running the task sequence", "steps.then_outcome": "Then — outcomes",
            "steps.then_steps_and_content": "Then — steps, variables and the client's disk",
            "steps.given_faults": "Given — HTTP faults in the content sources and Azure storage",
            "steps.given_network": "Given — the network (outages, links, cuts, stalls)",
            "steps.then_sources": "Then — sources tried, retries, resume, and a fleet's draws",
            "steps.then_timing": "Then — timing in model time (tolerances measured, see harness/model/timing.py)",
            "steps.then_network": "Then — what crossed the network",
            "steps.then_logs": "Then — what the client's logs say",
            "steps.load": "When and Then — real load through Locust (real time)",
            "steps.fleet": "Fleets — thousands of clients in waves, the CMG's capacity and egress (model time)"}


@dataclass(frozen=True)
class Entry:
    module: str
    keyword: str
    pattern: str  # as scenario writers read it (steps/patterns.py)
    placeholders: tuple[tuple[str, str | None], ...]  # (name, parse type) in order
    summary: str
    example: str | None  # "Given the site runs …  (download_all.feature)"


def step_contexts() -> list[StepFunctionContext]:
    for module in MODULES:
        importlib.import_module(module)
    return [c for c in step_function_context_registry.values() if c.step_func.__module__ in MODULES]


def feature_steps() -> list[tuple[str, str, str]]:
    """(type, rendered text, feature file name) of every step of every scenario, outlines with each example row."""
    found = []
    for feature in get_features([str(ROOT / "features")]):
        for template in feature.scenarios.values():
            contexts = [c for e in template.examples for c in e.as_contexts()] or [{}]
            for context in contexts:
                for step in template.render(context).steps:
                    found.append((step.type, step.name, Path(feature.filename).name))
    return found


def entries(previous: str = "") -> list[Entry]:
    """Every step, with an example. An example the previous catalogue shows is kept while its feature file still
    has it, so a new feature file changes nothing here; line numbers are left out for the same reason."""
    steps = feature_steps()
    kept = _examples_in(previous)
    result = []
    for context in step_contexts():
        keyword = context.type or "step"
        regex = isinstance(context.parser, parsers.re)
        pattern = readable(context.parser.name, regex=regex)
        usable = [f"{keyword.capitalize()} {text}  ({where})" for kind, text, where in steps
                  if kind == context.type and context.parser.is_matching(text)]
        example = kept.get(pattern) if kept.get(pattern) in usable else next(iter(usable), None)
        result.append(Entry(context.step_func.__module__, keyword, pattern,
                            tuple(placeholders(context.parser.name, regex=regex)), summary(context), example))
    return result


def summary(context: StepFunctionContext) -> str:
    """The docstring's first paragraph, as one line."""
    doc = inspect.getdoc(context.step_func) or ""
    return " ".join(doc.split("\n\n")[0].split())


_ENTRY = re.compile(r"^- \*\*\w+\*\* `(?P<pattern>.+)`$")
_EXAMPLE = re.compile(r"^  - e\.g\. `(?P<example>.+)`$")


def _examples_in(text: str) -> dict[str, str]:
    """readable pattern -> the example the catalogue shows for it."""
    found, pattern = {}, None
    for line in text.splitlines():
        if entry := _ENTRY.match(line):
            pattern = entry["pattern"]
        elif (example := _EXAMPLE.match(line)) and pattern is not None:
            found[pattern] = example["example"]
    return found


def render(previous: str = "") -> str:
    found = entries(previous)
    lines = [*_preamble(), *_placeholder_table(found)]
    for module in MODULES:
        lines += [f"## {HEADINGS[module]}", "", f"Defined in `{module.replace('.', '/')}.py`.", ""]
        for entry in (e for e in found if e.module == module):
            lines.append(f"- **{entry.keyword.capitalize()}** `{entry.pattern}`")
            if entry.summary:
                lines.append(f"  — {entry.summary}")
            lines.append(f"  - e.g. `{entry.example}`" if entry.example else "  - (not used by any scenario yet)")
        lines.append("")
    lines += _refusal_texts()
    return "\n".join(lines)


def _preamble() -> list[str]:
    real = Tolerance.for_clock("real")
    default_scale = Scale(Topology.load().scale)
    tags = _tags_in_use()
    return [
        "# Step catalogue", "",
        "Every step the scenarios can use, with one example from the feature files. Generated by",
        "`python -m steps.catalogue` from `steps/`; a test fails when this file is out of date.", "",
        "How to read a step: `(a | b)` means write one of the choices, `[…]` a part you may leave out, and",
        "`{name}` a value of your own, explained under [Placeholders](#placeholders).", "",
        "## Model time and timing tolerance", "",
        "Scenarios run on a virtual clock by default. Time stands still while the steps set things up and jumps",
        "whenever every actor of the emulated world waits, so durations are exact and a 4-hour step costs no more",
        "real time than a 4-minute one. Durations and sizes are always written in model units.", "",
        f"- **Virtual clock** (the default): a timing step accepts a measured duration within "
        f"{EXACT_MODEL_SECONDS:g} model second of the one it names (timeline times are kept to the millisecond).",
        f"- **Real clock** (`--clock real`, or `@clock:real`): model time is real time × scale, and a timing step "
        f"accepts {real.relative:.0%} of the named duration plus {real.real_seconds:g} s of real time × scale "
        f"({default_scale.model_seconds(real.real_seconds):g} model seconds at the default scale "
        f"{default_scale.factor:g}). \"Between\" steps accept their bounds widened by the absolute part only.", "",
        "## Tags", "",
        "- `@faults`: the scenario arms an HTTP or network fault (any step of `steps/given_faults.py` or",
        "  `steps/given_network.py`); required on those and only those, and",
        "  such scenarios are skipped on an environment without a fault API (`--env external` on a lab).",
        "- `@scale:<factor>`: runs in an environment at that scale (model bytes of content per physical byte; the",
        "  virtual clock times every scale exactly); skipped on an external environment at another scale."
        f" {_in_use(tags, 'scale:')}",
        "- `@clock:real`: runs on the real clock (real time × scale); its timings are judged with the real clock's",
        f"  tolerance. {_in_use(tags, 'clock:')}",
        "- `@matrix:<capability>`: the capability-matrix row the scenario exercises (`cmg-harness matrix`)."
        f" {_in_use(tags, 'matrix:')}", "",
    ]


def _tags_in_use() -> dict[str, set[str]]:
    """tag -> the feature files whose scenarios (or the feature itself) carry it."""
    used: dict[str, set[str]] = {}
    for feature in get_features([str(ROOT / "features")]):
        name = Path(feature.filename).name
        for tag in feature.tags | {t for s in feature.scenarios.values() for t in s.tags}:
            used.setdefault(tag, set()).add(name)
    return used


def _in_use(tags: dict[str, set[str]], prefix: str) -> str:
    found = sorted(t for t in tags if t.startswith(prefix))
    if not found:
        return "No scenario uses it today."
    return "In use: " + ", ".join(f"`@{t}` ({', '.join(sorted(tags[t]))})" for t in found) + "."


def _placeholder_table(found: list[Entry]) -> list[str]:
    used = sorted({name: kind for entry in found for name, kind in entry.placeholders}.items())
    lines = ["## Placeholders", "", "| placeholder | what to write |", "|---|---|"]
    for name, kind in used:
        meaning = PLACEHOLDERS.get(name)
        if meaning is None:
            text = "a whole number" if kind == "d" else "(not described: add it to PLACEHOLDERS in steps/vocabulary.py)"
        else:
            text = meaning.meaning + (": " + ", ".join(f"`{v}`" for v in meaning.values) if meaning.values else "")
        lines.append(f"| `{{{name}}}` | {text} |")
    return [*lines, ""]


def _refusal_texts() -> list[str]:
    lines = ["## Refusal texts", "",
             'What "the client refuses to start the task sequence because \"…\"" and "the site refuses … because',
             '\"…\"" can quote (any part of the text). `<…>` stands for what the refusal names.', "",
             "The client (execmgr.log):", ""]
    lines += [f"- `{text}`" for text in client_refusals()]
    lines += ["", "The site (the console's and the SMS Provider's answers):", ""]
    lines += [f"- `{text}`" for text in site_refusals()]
    return [*lines, ""]


def main(argv: list[str]) -> int:
    current = CATALOGUE.read_text(encoding="utf-8") if CATALOGUE.exists() else ""
    text = render(current)
    if "--check" in argv:
        if current != text:
            print(f"{CATALOGUE} is out of date: run python -m steps.catalogue", file=sys.stderr)
            return 1
        return 0
    CATALOGUE.write_text(text, encoding="utf-8")
    print(f"wrote {CATALOGUE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""features/STEPS.md is generated from the step definitions: keep it current, readable and every step used."""

import ast
import difflib
import re
from pathlib import Path

import pytest

from steps import catalogue
from steps.catalogue import CATALOGUE, HEADINGS, MODULES, entries, render
from steps.refusals import SITE_MODEL_REFUSALS

ROOT = Path(__file__).resolve().parents[2]


def test_catalogue_is_current() -> None:
    current = CATALOGUE.read_text(encoding="utf-8")
    wanted = render(current)
    changes = "".join(list(difflib.unified_diff(current.splitlines(True), wanted.splitlines(True), "STEPS.md",
                                                "generated", n=0))[:40])
    assert current == wanted, f"features/STEPS.md is out of date: run `python -m steps.catalogue`\n{changes}"


def test_a_new_feature_file_changes_no_example(monkeypatch: pytest.MonkeyPatch) -> None:
    """A feature file that sorts first and uses every step (the worst case) leaves the catalogue as it is."""
    current = CATALOGUE.read_text(encoding="utf-8")
    real = catalogue.feature_steps()
    monkeypatch.setattr(catalogue, "feature_steps", lambda: [(kind, text, "aaa_new.feature")
                                                             for kind, text, _ in real] + real)
    assert render(current) == current


def test_every_step_has_an_example_in_a_feature() -> None:
    unused = [e.pattern for e in entries() if e.example is None]
    assert not unused, f"steps used by no scenario: {unused}"


def test_every_step_says_what_it_does_in_whole_sentences() -> None:
    unfinished = [f"{e.pattern}: {e.summary!r}" for e in entries()
                  if not e.summary or not e.summary.rstrip(")'\"").endswith((".", "?", "!"))]
    assert not unfinished, "give these steps a docstring whose first paragraph ends a sentence:\n" + \
        "\n".join(unfinished)


def test_no_pattern_shows_regular_expression_syntax() -> None:
    raw = [e.pattern for e in entries() if re.search(r"\(\?|\\[dwsS.]|[$^]|\[\^|\.[+*]|[+*]\?", e.pattern)]
    assert not raw, f"patterns shown as regular expressions: {raw}"


def test_every_placeholder_is_explained() -> None:
    text = CATALOGUE.read_text(encoding="utf-8")
    assert "not described" not in text, "add the placeholder to PLACEHOLDERS in steps/vocabulary.py"
    table = set(re.findall(r"^\| `\{(\w+)\}` \|", text, re.MULTILINE))
    shown = {name for e in entries() for name, _ in e.placeholders}
    assert shown <= table, f"placeholders without a row: {shown - table}"


def test_the_sites_own_refusals_are_worded_as_the_code_words_them() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "harness").rglob("*.py"))
    sources = re.sub(r"[\"']\s*\n\s*[fr]*[\"']", "", sources)  # adjacent string literals read as one
    for template in SITE_MODEL_REFUSALS:
        for fragment in re.split(r"<[^>]+>", template):
            longest = max(re.split(r"['\"()]", fragment), key=len).strip()
            assert longest in sources, f"{template!r}: {longest!r} is no longer in harness/"


def test_every_step_module_is_in_the_catalogue() -> None:
    """A step module loaded by the root conftest but missing from the catalogue would go undocumented."""
    tree = ast.parse((ROOT / "conftest.py").read_text(encoding="utf-8"))
    plugins = next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                   and any(getattr(t, "id", "") == "pytest_plugins" for t in node.targets))
    loaded = [name for name in plugins if name.startswith("steps.") and name != "steps.fixtures"]
    assert sorted(loaded) == sorted(MODULES), "list every step module in steps/catalogue.py MODULES"
    assert set(MODULES) <= set(HEADINGS), "give every step module a heading in steps/catalogue.py HEADINGS"

"""features/STEPS.md is generated from the step definitions: keep it current and keep every step used."""

from steps.catalogue import CATALOGUE, entries, render


def test_catalogue_is_current() -> None:
    assert CATALOGUE.read_text(encoding="utf-8") == render(), "run: python -m steps.catalogue"


def test_every_step_has_an_example_in_a_feature() -> None:
    unused = [e.pattern for e in entries() if e.example is None]
    assert not unused, f"steps used by no scenario: {unused}"


def test_every_step_module_is_in_the_catalogue() -> None:
    """A step module loaded by the root conftest but missing from the catalogue would go undocumented."""
    import ast
    from pathlib import Path

    from steps.catalogue import HEADINGS, MODULES

    root_conftest = Path(__file__).resolve().parents[2] / "conftest.py"
    tree = ast.parse(root_conftest.read_text(encoding="utf-8"))
    plugins = next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                   and any(getattr(t, "id", "") == "pytest_plugins" for t in node.targets))
    loaded = [name for name in plugins if name.startswith("steps.") and name != "steps.fixtures"]
    assert sorted(loaded) == sorted(MODULES), "list every step module in steps/catalogue.py MODULES"
    assert set(MODULES) <= set(HEADINGS), "give every step module a heading in steps/catalogue.py HEADINGS"

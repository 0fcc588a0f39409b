"""features/STEPS.md is generated from the step definitions: keep it current and keep every step used."""

from steps.catalogue import CATALOGUE, entries, render


def test_catalogue_is_current() -> None:
    assert CATALOGUE.read_text(encoding="utf-8") == render(), "run: python -m steps.catalogue"


def test_every_step_has_an_example_in_a_feature() -> None:
    unused = [e.pattern for e in entries() if e.example is None]
    assert not unused, f"steps used by no scenario: {unused}"

"""Every scenario that injects an HTTP or network fault carries `@faults`, so environments without a fault API
(external ones) can leave it out; and no scenario carries `@faults` without one.

A tag counts from the feature, the rule, the scenario or its Examples block (pytest-bdd applies all four), and
an outline is checked row by row, since its rows may call different steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_bdd.feature import get_features
from pytest_bdd.parser import Feature, ScenarioTemplate, Step
from pytest_bdd.steps import StepFunctionContext, step_function_context_registry

from steps import given_faults, given_network

FEATURES = Path(__file__).resolve().parents[2] / "features"
TAG = "faults"
# The step modules whose every step arms a fault, toxic or link in front of a service.
FAULT_MODULES = (given_faults, given_network)


def step_contexts() -> list[StepFunctionContext]:
    return list(step_function_context_registry.values())


def is_fault_step(context: StepFunctionContext) -> bool:
    return any(context.step_func.__module__ == module.__name__ for module in FAULT_MODULES)


FAULT_STEPS = tuple(c.step_func for c in step_contexts() if is_fault_step(c))


@dataclass(frozen=True)
class Row:
    """One scenario as it runs: an outline once per Examples row."""

    where: str
    tags: frozenset[str]
    steps: tuple[Step, ...]


def rows(feature: Feature, template: ScenarioTemplate) -> Iterator[Row]:
    inherited = feature.tags | template.tags | (template.rule.tags if template.rule else set())
    where = f"{Path(feature.filename).name}:{template.line_number} {template.name!r}"
    if not template.examples:
        yield Row(where, frozenset(inherited), tuple(template.render({}).steps))
    for examples in template.examples:
        for context in examples.as_contexts():
            yield Row(f"{where} {context}", frozenset(inherited | (examples.tags or set())),
                      tuple(template.render(context).steps))


def all_rows() -> list[Row]:
    return [row for feature in get_features([str(FEATURES)]) for template in feature.scenarios.values()
            for row in rows(feature, template)]


def fault_steps_in(row: Row, contexts: list[StepFunctionContext]) -> list[str]:
    """The row's steps that arm a fault; a step that matches both a fault step and another one is an error."""
    found = []
    for step in row.steps:
        matches = [c for c in contexts if c.type == step.type and c.parser.is_matching(step.name)]
        kinds = {is_fault_step(c) for c in matches}
        assert len(kinds) <= 1, f"{row.where}: {step.name!r} matches fault and other steps alike: " \
                                f"{[c.step_func.__name__ for c in matches]}"
        if True in kinds:
            found.append(f"{step.keyword} {step.name}")
    return found


@pytest.fixture(scope="module")
def used() -> list[tuple[Row, list[str]]]:
    contexts = step_contexts()
    return [(row, fault_steps_in(row, contexts)) for row in all_rows()]


def test_the_fault_steps_are_found() -> None:
    """Guards the list itself: a renamed module or function must not quietly empty it."""
    by_module = {module.__name__: [f for f in FAULT_STEPS if f.__module__ == module.__name__]
                 for module in FAULT_MODULES}
    assert len(by_module[given_network.__name__]) >= 6 and len(by_module[given_faults.__name__]) >= 12, by_module
    assert given_faults.tls12_content_defect in FAULT_STEPS and given_faults.content_service_refuses in FAULT_STEPS
    assert all(not f.__module__.endswith("given_client") for f in FAULT_STEPS)  # a client's seed is not a fault


def test_every_scenario_that_injects_a_fault_is_tagged(used: list[tuple[Row, list[str]]]) -> None:
    untagged = [f"{row.where}: {faults[0]}" for row, faults in used if faults and TAG not in row.tags]
    assert not untagged, f"scenarios that inject a fault without @{TAG}:\n" + "\n".join(untagged)


def test_no_scenario_is_tagged_without_a_fault(used: list[tuple[Row, list[str]]]) -> None:
    needless = [row.where for row, faults in used if not faults and TAG in row.tags]
    assert not needless, f"scenarios tagged @{TAG} that inject no fault:\n" + "\n".join(needless)


def test_both_kinds_of_scenario_exist(used: list[tuple[Row, list[str]]]) -> None:
    """The two checks above say nothing if every row, or none, injects a fault."""
    assert any(faults for _, faults in used) and any(not faults for _, faults in used)

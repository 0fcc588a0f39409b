"""docs/behaviour.md and the `@behaviour:B-xx` tags of features/*.feature agree: every documented behaviour is
exercised by a scenario, every tag names a documented behaviour, the IDs run in order and each section says where
it comes from. Then the two readers of harness/reporting/behaviours.py on small inline texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.reporting.behaviours import (
    Behaviour,
    behaviour_ids,
    is_behaviour_id,
    load_behaviours,
    parse_behaviours,
    parse_feature,
    scenario_behaviours,
)

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "behaviour.md"
FEATURES = ROOT / "features"


@pytest.fixture(scope="module")
def documented() -> list[Behaviour]:
    return load_behaviours(DOCUMENT)


@pytest.fixture(scope="module")
def tagged() -> dict[str, list[str]]:
    return scenario_behaviours(FEATURES)


# The document and the feature files


def test_the_document_lists_behaviours(documented: list[Behaviour]) -> None:
    assert len(documented) >= 30, f"docs/behaviour.md lists only {len(documented)} behaviours"


def test_every_behaviour_is_exercised_by_a_scenario(documented: list[Behaviour],
                                                     tagged: dict[str, list[str]]) -> None:
    missing = [f"{b.id}: {b.title}" for b in documented if b.id not in tagged]
    assert not missing, "behaviours no scenario carries a @behaviour tag for:\n" + "\n".join(missing)


def test_every_tag_names_a_documented_behaviour(documented: list[Behaviour], tagged: dict[str, list[str]]) -> None:
    known = {b.id for b in documented}
    unknown = [f"@behaviour:{id_} on {scenario}" for id_, scenarios in tagged.items() if id_ not in known
               for scenario in scenarios]
    assert not unknown, "tags that name no behaviour of docs/behaviour.md:\n" + "\n".join(unknown)


def test_ids_are_unique_and_numbered_in_order(documented: list[Behaviour]) -> None:
    ids = [b.id for b in documented]
    duplicates = sorted({id_ for id_ in ids if ids.count(id_) > 1})
    assert not duplicates, f"behaviour IDs used twice: {duplicates}"
    expected = [f"B-{n:02d}" for n in range(1, len(ids) + 1)]
    assert ids == expected, f"behaviour IDs must run B-01, B-02, … without gaps: {ids}"


def test_every_behaviour_names_a_public_source(documented: list[Behaviour]) -> None:
    unsourced = [b.id for b in documented if not b.sources]
    assert not unsourced, f"behaviours without a URL on their Source line: {unsourced}"


def test_every_behaviour_says_what_the_product_does(documented: list[Behaviour]) -> None:
    empty = [b.id for b in documented if not b.title or not b.text.endswith((".", '"', ")"))]
    assert not empty, f"behaviours without a title or a description of whole sentences: {empty}"


# The behaviour document's reader

SAMPLE = """\
# Behaviours

What the IDs are for.

## B-01: A first behaviour

The product does one thing. It does it in 1910
and later.

- Source: https://learn.microsoft.com/a , https://github.com/o/r/issues/1.
- Harness: [INFERENCE] The harness guesses
  over two lines.

## B-02: A second behaviour

Another thing.

- Source: none given
"""


def test_a_section_reads_into_a_behaviour() -> None:
    first, second = parse_behaviours(SAMPLE)
    assert first == Behaviour(id="B-01", title="A first behaviour",
                              text="The product does one thing. It does it in 1910 and later.",
                              sources=("https://learn.microsoft.com/a", "https://github.com/o/r/issues/1"),
                              inference="The harness guesses over two lines.")
    assert (second.id, second.sources, second.inference) == ("B-02", (), None)


def test_a_section_ends_at_the_next_heading() -> None:
    [behaviour] = parse_behaviours("## B-07: Seven\n\nText.\n\n- Source: https://x.example/\n\n# Notes\n\nMore.\n")
    assert behaviour.text == "Text."


@pytest.mark.parametrize("heading", ["## B-1: Too short an ID", "## B-03 no colon", "## B-04:"])
def test_a_malformed_behaviour_heading_is_an_error(heading: str) -> None:
    with pytest.raises(ValueError, match="behaviour heading"):
        parse_behaviours(f"{heading}\n\nText.\n")


def test_a_harness_line_without_the_inference_marker_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"\[INFERENCE\]"):
        parse_behaviours("## B-01: One\n\nText.\n\n- Source: https://x.example/\n- Harness: a guess\n")


# The feature files' reader

FEATURE = """\
@acceptance @behaviour:B-01
Feature: Something
  A description that mentions @behaviour:B-99 in passing.

  Background:
    Given a thing

  # a comment between the tags and the scenario
  @behaviour:B-02  @smoke # @behaviour:B-98 is commented out
  Scenario: First
    Given a thing
    \"\"\"
    @behaviour:B-97 inside a doc string
    Scenario: not a scenario
    \"\"\"

  @matrix:row
  @behaviour:B-03
  Scenario Outline: Second (<version>)
    Given version <version>

    @behaviour:B-04
    Examples:
      | version |
      | 1910    |

    Examples:
      | version |
      | 2010    |

  @behaviour:B-05
  Rule: A rule
    Example: Third
      Given a thing
"""


def test_a_scenario_gets_the_feature_rule_scenario_and_examples_tags() -> None:
    first, second, third = parse_feature(FEATURE)
    assert (first.name, first.tags) == ("First", {"acceptance", "behaviour:B-01", "behaviour:B-02", "smoke"})
    assert (second.name, second.tags) == ("Second (<version>)",
                                          {"acceptance", "behaviour:B-01", "matrix:row", "behaviour:B-03",
                                           "behaviour:B-04"})
    assert (third.name, third.tags) == ("Third", {"acceptance", "behaviour:B-01", "behaviour:B-05"})
    assert [s.line for s in (first, second, third)] == [10, 19, 33]


def test_behaviour_ids_come_only_from_behaviour_tags() -> None:
    assert behaviour_ids({"behaviour:B-10", "matrix:row", "behaviour:B-02", "behaviours"}) == ["B-02", "B-10"]


def test_scenario_behaviours_counts_an_outline_once(tmp_path: Path) -> None:
    (tmp_path / "a.feature").write_text(FEATURE, encoding="utf-8")
    (tmp_path / "b.feature").write_text("Feature: B\n  @behaviour:B-03\n  Scenario: Also three\n    Given x\n",
                                        encoding="utf-8")
    (tmp_path / "notes.md").write_text("@behaviour:B-96\nScenario: not a feature file\n", encoding="utf-8")
    found = scenario_behaviours(tmp_path)
    assert list(found) == ["B-01", "B-02", "B-03", "B-04", "B-05"]
    assert found["B-01"] == ["a.feature: First", "a.feature: Second (<version>)", "a.feature: Third"]
    assert found["B-03"] == ["a.feature: Second (<version>)", "b.feature: Also three"]


@pytest.mark.parametrize(("text", "valid"), [("B-01", True), ("B-123", True), ("B-1", False), ("b-01", False),
                                             ("B-01x", False), ("B01", False)])
def test_a_behaviour_id_is_b_and_two_or_more_digits(text: str, valid: bool) -> None:
    assert is_behaviour_id(text) is valid

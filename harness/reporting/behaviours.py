"""The product behaviours the harness reproduces (docs/behaviour.md) and the scenarios that exercise them.

docs/behaviour.md holds one section per behaviour::

    ## B-01: <short title>

    <what the product does, in a few sentences>

    - Source: <public URLs>
    - Harness: [INFERENCE] <where the harness had to choose>

and a scenario in features/*.feature names the behaviours it exercises with `@behaviour:B-01` tags. A tag on
the feature applies to every scenario in it, one on a Rule to that rule's scenarios, and one on an Examples
block to its outline. Both readers only read the files they are given; tests/unit/test_behaviours.py holds the
two together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TAG_PREFIX = "behaviour:"
INFERENCE = "[INFERENCE]"

_ID = re.compile(r"B-\d{2,}")
_HEADING = re.compile(r"^## (?P<id>B-\d{2,}): (?P<title>\S.*?)\s*$")
_FIELD = re.compile(r"^- (?P<name>Source|Harness):\s*(?P<value>.*)$")
_URL = re.compile(r"https?://[^\s<>\"'`]+")
_URL_TAIL = ".,;:)]"
_SCENARIO_KEYWORDS = ("Scenario Outline:", "Scenario Template:", "Scenario:", "Example:")
_EXAMPLES_KEYWORDS = ("Examples:", "Scenarios:")


@dataclass(frozen=True)
class Behaviour:
    """One section of docs/behaviour.md."""

    id: str  # "B-01"
    title: str
    text: str  # the description, its lines joined by single spaces
    sources: tuple[str, ...]  # the URLs on the Source line, in order
    inference: str | None  # the Harness line without its [INFERENCE] marker, or None when there is none


@dataclass(frozen=True)
class TaggedScenario:
    """A scenario (an outline counts once) with every tag that applies to it, without the `@`."""

    name: str
    tags: frozenset[str]
    line: int  # 1-based line of its Scenario keyword


def is_behaviour_id(text: str) -> bool:
    """Whether `text` is a well-formed behaviour ID: `B-` and at least two digits."""
    return _ID.fullmatch(text) is not None


def load_behaviours(path: Path) -> list[Behaviour]:
    """The behaviours of the document at `path`, in the order it lists them."""
    return parse_behaviours(path.read_text(encoding="utf-8"))


def parse_behaviours(text: str) -> list[Behaviour]:
    """The behaviours of a behaviour document's text.

    A section starts at its `## B-xx: title` heading and ends at the next heading of any level. A heading that
    starts with `## B-` but does not have that form is an error, so a typo cannot hide a behaviour.
    """
    sections: list[tuple[str, str, list[str]]] = []
    current: tuple[str, str, list[str]] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#"):
            current = None
            heading = _HEADING.match(line)
            if heading:
                current = (heading["id"], heading["title"], [])
                sections.append(current)
            elif line.startswith("## B-"):
                raise ValueError(f"line {number}: a behaviour heading reads '## B-01: <title>', not {line!r}")
        elif current is not None:
            current[2].append(line)
    return [_behaviour(id_, title, body) for id_, title, body in sections]


def _behaviour(id_: str, title: str, body: list[str]) -> Behaviour:
    description: list[str] = []
    fields: dict[str, list[str]] = {}
    field: list[str] | None = None  # the field the current (continuation) line belongs to
    for raw in body:
        line = raw.strip()
        match = _FIELD.match(line)
        if match:
            if match["name"] in fields:
                raise ValueError(f"{id_}: more than one {match['name']} line")
            field = fields[match["name"]] = [match["value"]]
        elif not line:
            field = None
        elif field is not None and raw.startswith(" "):
            field.append(line)
        elif field is None and not fields:
            description.append(line)
        else:
            raise ValueError(f"{id_}: unexpected line after the Source and Harness lines: {line!r}")
    source = " ".join(fields.get("Source", []))
    harness = " ".join(fields["Harness"]) if "Harness" in fields else None
    if harness is not None and not harness.startswith(INFERENCE):
        raise ValueError(f"{id_}: the Harness line starts with {INFERENCE}")
    return Behaviour(id=id_, title=title, text=" ".join(description),
                     sources=tuple(url.rstrip(_URL_TAIL) for url in _URL.findall(source)),
                     inference=harness.removeprefix(INFERENCE).strip() if harness is not None else None)


def parse_feature(text: str) -> list[TaggedScenario]:
    """The scenarios of a Gherkin feature file's text with the tags that apply to each.

    Tags are the `@`-words on the lines just above a keyword. The feature's tags reach every scenario, a Rule's
    tags the scenarios of that rule, and an Examples block's tags its Scenario Outline. Comments (`#`), tables,
    doc strings and descriptions are skipped.
    """
    scenarios: list[TaggedScenario] = []
    feature_tags: frozenset[str] = frozenset()
    rule_tags: frozenset[str] = frozenset()
    pending: set[str] = set()
    in_doc_string: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if in_doc_string is not None:
            if line.startswith(in_doc_string):
                in_doc_string = None
            continue
        if line.startswith(('"""', "```")):
            in_doc_string = line[:3]
            continue
        if line.startswith("@"):
            pending |= _tags(line)
            continue
        if line.startswith("Feature:"):
            feature_tags, rule_tags = frozenset(pending), frozenset()
        elif line.startswith("Rule:"):
            rule_tags = frozenset(pending)
        elif line.startswith(_SCENARIO_KEYWORDS):
            keyword = next(k for k in _SCENARIO_KEYWORDS if line.startswith(k))
            scenarios.append(TaggedScenario(name=line.removeprefix(keyword).strip(),
                                            tags=feature_tags | rule_tags | pending, line=number))
        elif line.startswith(_EXAMPLES_KEYWORDS) and scenarios:
            last = scenarios[-1]
            scenarios[-1] = TaggedScenario(name=last.name, tags=last.tags | pending, line=last.line)
        elif line and not line.startswith("#"):
            # Background, a step, a table row or a description: tags stand only right above a keyword.
            pending = set()
            continue
        else:
            continue
        pending = set()
    return scenarios


def _tags(line: str) -> set[str]:
    tags: set[str] = set()
    for word in line.split():
        if word.startswith("#"):
            break
        if word.startswith("@") and len(word) > 1:
            tags.add(word[1:])
    return tags


def behaviour_ids(tags: Iterable[str]) -> list[str]:
    """The behaviour IDs named by `behaviour:` tags among `tags`, sorted; malformed ones included as written."""
    return sorted(tag.removeprefix(TAG_PREFIX) for tag in tags if tag.startswith(TAG_PREFIX))


def scenario_behaviours(features_dir: Path) -> dict[str, list[str]]:
    """Behaviour ID -> the scenarios tagged with it, as "<feature file>: <scenario name>", over the
    *.feature files directly in `features_dir`, in file and then line order. IDs appear as the tags write
    them, known or not, so a caller can find tags that name no behaviour."""
    found: dict[str, list[str]] = {}
    for path in sorted(features_dir.glob("*.feature")):
        for scenario in parse_feature(path.read_text(encoding="utf-8")):
            for id_ in behaviour_ids(scenario.tags):
                found.setdefault(id_, []).append(f"{path.name}: {scenario.name}")
    return dict(sorted(found.items(), key=lambda item: (len(item[0]), item[0])))  # B-99 before B-100

"""Step patterns as scenario writers read them: `the CMG (serves | does not serve) content from Azure storage`,
`the CMG's content service refuses the next [{count} ]content request[s] with (401 | 403)`.

A regular expression is walked with Python's own parser (re._parser, the module `re` compiles with), so every
construct the steps use is rendered the same way:

- a named group whose text can only be a few fixed words is written out as those words, `(a | b)`;
- a named group that is one fixed text (a flag such as ` and pre-download`) is that text;
- any other named group is its placeholder, `{name}`, explained in the catalogue's placeholder table;
- an optional part is `[…]`, an unnamed choice `(a | b)`.
"""

from __future__ import annotations

import re

# The parser `re` itself compiles with (private in name only: sre_parse was its public alias until 3.11).
import re._constants as c
import re._parser as sre
from itertools import product
from typing import Any

MAX_WORDS = 12  # a group with more possible texts than this is a placeholder, not a list
_PARSE_FIELD = re.compile(r"\{(\w+)(?::(\w+))?\}")


def readable(pattern: str, *, regex: bool) -> str:
    """The pattern with placeholders as {name}, fixed choices written out, and no regular expression syntax."""
    if not regex:
        return _PARSE_FIELD.sub(lambda m: "{" + m.group(1) + "}", pattern)
    parsed = sre.parse(pattern)
    names = {number: name for name, number in parsed.state.groupdict.items()}
    return _render(list(parsed), names)


def placeholders(pattern: str, *, regex: bool) -> list[tuple[str, str | None]]:
    """(name, parse type such as "d" or None) of every placeholder the readable pattern shows, in order."""
    return [(m.group(1), m.group(2)) for m in _PARSE_FIELD.finditer(pattern)] if not regex else \
        [(name, None) for name in re.findall(r"\{(\w+)\}", readable(pattern, regex=True))]


def _render(items: list[tuple[Any, Any]], names: dict[int, str]) -> str:
    text = ""
    for op, av in items:
        part = _render_one(op, av, names)
        if op is c.BRANCH:
            # The parser moves a prefix the choices share out in front of them: "(?:the a|to b)" comes back as
            # "t" + (he a|o b). The word fragment before the choice goes back into each branch.
            fragment = text[len(text.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")):]
            if fragment:
                text = text[:-len(fragment)]
                part = "(" + " | ".join(fragment + choice for choice in part[1:-1].split(" | ")) + ")"
        text += part
    return text


def _render_one(op: Any, av: Any, names: dict[int, str]) -> str:
    if op is c.LITERAL:
        return chr(av)
    if op is c.AT:
        return ""
    if op is c.SUBPATTERN:
        return _group(av[0], list(av[3]), names)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT):
        low, high, sub = av
        inner = _render(list(sub), names)
        return f"[{inner}]" if (low, high) == (0, 1) else "…"
    if op is c.BRANCH:
        return "(" + " | ".join(_render(list(branch), names) for branch in av[1]) + ")"
    return "…"  # a character class or wildcard outside any named group


def _group(number: int | None, items: list[tuple[Any, Any]], names: dict[int, str]) -> str:
    words = _words(items)
    if words is not None and len(words) == 1:
        return words[0]
    if words is not None and len(words) <= MAX_WORDS:
        return "(" + " | ".join(words) + ")"
    name = names.get(number) if number is not None else None
    if name is None:
        return _render(items, names)
    # A space at either end stays text: (?P<count>\d+ )? reads "[{count} ]".
    start, end = 0, len(items)
    while start < end and items[start] == (c.LITERAL, ord(" ")):
        start += 1
    while end > start and items[end - 1] == (c.LITERAL, ord(" ")):
        end -= 1
    return _render(items[:start], names) + "{" + name + "}" + _render(items[end:], names)


def _words(items: list[tuple[Any, Any]]) -> list[str] | None:
    """Every text the items can match, if they are few and fixed; None otherwise."""
    texts = [""]
    for op, av in items:
        choices = _choices(op, av)
        if choices is None:
            return None
        texts = [head + tail for head, tail in product(texts, choices)]
        if len(texts) > MAX_WORDS:
            return None
    return texts


def _choices(op: Any, av: Any) -> list[str] | None:
    if op is c.LITERAL:
        return [chr(av)]
    if op is c.IN and all(kind is c.LITERAL for kind, _ in av):
        return [chr(value) for _, value in av]
    if op is c.BRANCH:
        found: list[str] = []
        for branch in av[1]:
            words = _words(list(branch))
            if words is None:
                return None
            found += words
        return found
    if op is c.SUBPATTERN:
        return _words(list(av[3]))
    return None

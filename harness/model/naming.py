"""Reading console words: case and spacing as people type them, errors that list the choices."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

E = TypeVar("E", bound=Enum)


def normalise(text: str) -> str:
    return " ".join(text.strip().strip("\"'").lower().split())


def by_value(kind: type[E], text: str, what: str, *, separator: str = ", ") -> E:
    """The member whose value reads as `text`; otherwise a ValueError naming the choices."""
    wanted = normalise(text)
    for member in kind:
        if normalise(str(member.value)) == wanted:
            return member
    choices = separator.join(str(m.value) for m in kind)
    raise ValueError(f"unknown {what} {text!r}; expected one of {choices}")

"""What the image tests share: a folder of files written from a mapping, and stand-ins for a command that must
not run and for progress nobody reads."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def folder(path: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return path


def no_commands(command: list[str], what: str) -> None:
    raise AssertionError(f"ran {what}")


def silent(text: str) -> None:
    pass

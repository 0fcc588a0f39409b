"""After every scenario the environment fixture reads every service's journal and fails on a server error that no
step asked for, even one no step looked at; a 5xx a scenario arranged (a stopped service, an armed fault) is fine."""

from __future__ import annotations

from typing import Any

import pytest

from harness.emulators.control import DELIBERATE, FAULT
from steps import fixtures


class _Journal:
    def __init__(self, *entries: tuple[int, str]) -> None:
        self.entries = [{"method": "GET", "path": "/x", "status": status, "note": note} for status, note in entries]

    def journal(self) -> list[dict[str, Any]]:
        return self.entries


def _check(monkeypatch: pytest.MonkeyPatch, **journals: _Journal) -> None:
    monkeypatch.setattr(fixtures, "_drivers", lambda env: journals)
    fixtures._check_server_errors(object())  # type: ignore[arg-type]


def test_an_unasked_server_error_fails_the_scenario_naming_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AssertionError, match=r"services answered with server errors: \{'cmg': \[.*'status': 500"):
        _check(monkeypatch, site=_Journal((200, "")), cmg=_Journal((200, ""), (500, "")), storage=_Journal())


def test_server_errors_the_scenario_arranged_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    _check(monkeypatch, site=_Journal((503, f"{DELIBERATE}the site is stopped")),
           cmg=_Journal((500, f"{FAULT}500 armed on /downloadrestservice.svc")), storage=_Journal((404, "")))

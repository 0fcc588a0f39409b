"""After every scenario the environment fixture asks every service's driver for the server errors the scenario did
not arrange, and fails on any, even one no step looked at; a 5xx a scenario arranged (a stopped service, an armed
fault) is fine. The driver's side reads the journal's notes (respx stands in for a service)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from harness.drivers.base import ServiceDriver
from harness.protocol.control_api import DELIBERATE, FAULT
from steps import fixtures

BASE = "https://cmg.contoso.example:8443"


def _entry(status: int, note: str) -> dict[str, Any]:
    return {"method": "GET", "path": "/x", "query": "", "status": status, "ms": 1.0, "note": note}


class _Errors:
    def __init__(self, *errors: dict[str, Any]) -> None:
        self.errors = list(errors)

    def server_errors(self) -> list[dict[str, Any]]:
        return self.errors


@respx.mock
def test_the_driver_names_only_the_server_errors_nobody_arranged() -> None:
    journal = [_entry(200, ""), _entry(500, ""), _entry(503, f"{DELIBERATE}the CMG is stopped"),
               _entry(500, f"{FAULT}500 armed on /downloadrestservice.svc"), _entry(404, "")]
    respx.get(f"{BASE}/_harness/journal").mock(return_value=httpx.Response(200, json=journal))
    with httpx.Client() as http:
        assert ServiceDriver(http, BASE).server_errors() == [_entry(500, "")]


def test_an_unasked_server_error_fails_the_scenario_naming_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    drivers = {"site": _Errors(), "cmg": _Errors(_entry(500, "")), "storage": _Errors()}
    monkeypatch.setattr(fixtures, "_drivers", lambda env: drivers)
    with pytest.raises(AssertionError, match=r"services answered with server errors: \{'cmg': \[.*'status': 500"):
        fixtures._check_server_errors(object())  # type: ignore[arg-type]


def test_no_server_error_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fixtures, "_drivers", lambda env: {"site": _Errors(), "cmg": _Errors()})
    fixtures._check_server_errors(object())  # type: ignore[arg-type]

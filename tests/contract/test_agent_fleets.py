"""The client agent's fleets API: a fleet that cannot be is refused naming why; a fleet needs the virtual clock."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

GOOD: dict[str, Any] = {"name": "WAVE", "clients": 100, "waves": {"size": 50, "every_s": 600},
                        "packages": [{"id": "PS100011", "version": 1}]}


@pytest.mark.parametrize(("change", "words"), [
    ({"name": "wave"}, "'name' must be 1 to 12 capital letters"),
    ({"clients": 0}, "a fleet has 1 to 1,000,000 clients"),
    ({"clients": "many"}, "'clients' must be a whole number"),
    ({"waves": {"size": 0, "every_s": 60}}, "waves need at least 1 client"),
    ({"mix": [{"network": "internet", "auth": "pki", "share": 0.5}]}, "add up to 100 %"),
    ({"mix": [{"network": "moon", "auth": "pki", "share": 1}]}, "a client is internet or intranet"),
    ({"packages": []}, "'packages' must list the task sequence's packages"),
    ({"colour": "blue"}, "a fleet is a JSON object of"),
], ids=["name", "no-clients", "clients-not-a-number", "empty-wave", "mix-short", "unknown-network", "no-packages",
        "misspelt"])
def test_a_fleet_that_cannot_be_is_refused_naming_why(agent: TestClient, change: dict[str, Any],
                                                      words: str) -> None:
    answer = agent.post("/fleets", json={**GOOD, **change})
    assert answer.status_code == 400 and words in answer.text


def test_a_fleet_needs_the_virtual_clock(agent: TestClient) -> None:
    answer = agent.post("/fleets", json=GOOD)  # the contract tests' agent keeps real time
    assert answer.status_code == 409 and "a fleet runs on the virtual clock" in answer.text


def test_an_unknown_fleet_is_a_404_that_says_how_to_start_one(agent: TestClient) -> None:
    answer = agent.get("/fleets/NOPE")
    assert answer.status_code == 404 and "start one with POST /fleets" in answer.text

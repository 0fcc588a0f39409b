"""The CMG's deployment through its control API: VMs and their places, a client's request taking one, and the
egress threshold that stops the CMG (harness/emulators/cmg/deployment.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.contract.conftest import CMG_ID

DEPLOYMENT = "/_harness/cmg/deployment"
REQUEST = f"/CCM_Proxy_ServerAuth/{CMG_ID}/ccm_system_tokenauth/request"


def _deployment(cmg: TestClient) -> dict[str, Any]:
    answer = cmg.get(DEPLOYMENT)
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def test_a_new_cmg_is_one_standard_vm(cmg: TestClient) -> None:
    deployment = _deployment(cmg)
    assert (deployment["vms"], deployment["vm_size"], deployment["capacity"]) == (1, "Standard (A2_v2)", 6000)
    assert deployment["egress"]["threshold_bytes"] == 10_000 * 10**9 and not deployment["egress"]["stop_at_critical"]


def test_vms_and_their_size_give_the_documented_places(cmg: TestClient) -> None:
    answer = cmg.put(DEPLOYMENT, json={"vms": 2, "vm_size": "Large (A4_v2)"})
    assert answer.status_code == 200 and answer.json()["capacity"] == 20_000


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"vms": 17}, 422, "a CMG has 1 to 16 VM instances"),
    ({"vm_size": "Huge"}, 422, "unknown CMG VM size 'Huge'"),
    ({"request_seconds": -1}, 422, "request_seconds must be a number of seconds"),
    ({"egress_threshold_bytes": 0}, 422, "the threshold must be above 0 bytes"),
    ({"stop_at_critical": "yes"}, 422, "stop_at_critical must be true or false"),
    ({"vm": 2}, 400, "the deployment takes a JSON object of"),
], ids=["too-many-vms", "unknown-size", "negative-time", "no-threshold", "stop-not-bool", "misspelt"])
def test_a_deployment_that_cannot_be_is_refused_naming_why(cmg: TestClient, body: dict[str, Any], status: int,
                                                            words: str) -> None:
    answer = cmg.put(DEPLOYMENT, json=body)
    assert answer.status_code == status and words in answer.text


def test_a_fleets_request_takes_a_place_for_each_of_its_clients(cmg: TestClient) -> None:
    cmg.put(DEPLOYMENT, json={"vms": 1, "vm_size": "Lab (B2s)"})
    cmg.post(REQUEST, headers={"X-Harness-Fleet-Clients": "25"})  # refused (no token), but it took its places
    deployment = _deployment(cmg)
    assert deployment["requests"] == 25 and deployment["waited"] == 15 and deployment["longest_wait_s"] == 2.0


def test_a_cohort_size_that_cannot_be_is_a_400(cmg: TestClient) -> None:
    answer = cmg.post(REQUEST, headers={"X-Harness-Fleet-Clients": "0"})
    assert answer.status_code == 400 and "x-harness-fleet-clients" in answer.text


def test_past_the_critical_threshold_the_next_check_stops_the_cmg(cmg: TestClient) -> None:
    cmg.put(DEPLOYMENT, json={"egress_threshold_bytes": 1000, "stop_at_critical": True})
    assert cmg.post("/_harness/cmg/egress", json={"bytes": 950}).json() == {"total_bytes": 950}
    time.sleep(0.1)  # six model minutes at the contract tests' scale of 5000 are 72 real ms
    answer = cmg.post(REQUEST)
    assert answer.status_code == 503 and "the CMG stopped itself" in answer.text
    assert _deployment(cmg)["egress"]["stopped_at_s"] is not None
    journal = cmg.get("/_harness/journal").json()
    assert any(entry["status"] == 503 and "deliberate: " in entry.get("note", "") for entry in journal)


@pytest.mark.parametrize("body", [{"bytes": -1}, {"bytes": "many"}, {}, [1]])
def test_egress_that_cannot_be_is_a_400(cmg: TestClient, body: Any) -> None:
    answer = cmg.post("/_harness/cmg/egress", json=body)
    assert answer.status_code == 400 and "egress takes" in answer.text

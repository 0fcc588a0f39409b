"""The client agent refuses bad clients, installs, runs and log names with a 4xx that names the problem."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.contract.refusals import assert_refused

GOOD_CLIENT = {"name": "CLIENT01", "network": "internet", "settings": {"enable_cmg": True},
               "auth": "token", "site_token": "a site-issued token"}



@pytest.fixture
def with_client(agent: TestClient) -> TestClient:
    assert agent.post("/clients", json=GOOD_CLIENT).status_code == 201
    return agent


@pytest.fixture
def run_id(with_client: TestClient) -> str:
    """A run that fails at once: the site it would talk to is a closed port."""
    response = with_client.post("/clients/CLIENT01/installs", json={"deployment": "PS120001"})
    assert response.status_code == 202
    return str(response.json()["run"])


@pytest.mark.parametrize(("body", "words"), [
    (b"{name: CLIENT01}", ["not valid JSON"]),
    (b'["CLIENT01"]', ["must be a JSON object"]),
    ({**GOOD_CLIENT, "name": ""}, ["'name' must be a computer name"]),
    ({key: value for key, value in GOOD_CLIENT.items() if key != "name"}, ["'name' must be a computer name"]),
    ({**GOOD_CLIENT, "name": "CLIENT 01!"}, ["'name' must be a computer name"]),
    ({**GOOD_CLIENT, "name": "../../etc"}, ["'name' must be a computer name"]),
    ({**GOOD_CLIENT, "name": "C" * 300}, ["'name' must be a computer name", "63"]),
    ({**GOOD_CLIENT, "name": "CLIENTÉ"}, ["'name' must be a computer name"]),
    ({**GOOD_CLIENT, "network": "mars"}, ["'network' must be one of internet, intranet"]),
    ({**GOOD_CLIENT, "settings": ["enable_cmg"]}, ["'settings' must be an object"]),
    ({**GOOD_CLIENT, "settings": {"enable_vpn": True}}, ["unknown client setting(s) enable_vpn", "allow_cloud_dp"]),
    ({**GOOD_CLIENT, "settings": {"enable_cmg": "yes"}}, ["client settings take true or false"]),
    ({key: value for key, value in GOOD_CLIENT.items() if key != "site_token"}, ["'site_token' is required"]),
    ({**GOOD_CLIENT, "site_token": 42}, ["'site_token' is required"]),
    ({**GOOD_CLIENT, "auth": "password"}, ["'auth' must be one of pki, token"]),
], ids=["not-json", "array", "empty-name", "no-name", "bad-name", "traversal-name", "long-name", "non-ascii-name",
        "bad-network", "settings-list", "unknown-setting", "non-bool-setting", "no-site-token", "site-token-number",
        "unknown-auth"])
def test_bad_clients_are_refused(agent: TestClient, body: Any, words: list[str]) -> None:
    response = agent.post("/clients", **({"content": body} if isinstance(body, bytes) else {"json": body}))
    assert_refused(response, 400, *words)
    assert agent.get("/clients").json() == {}


def test_a_duplicate_client_is_409(with_client: TestClient) -> None:
    assert_refused(with_client.post("/clients", json=GOOD_CLIENT), 409, "a client named 'CLIENT01' already exists")


@pytest.mark.parametrize(("client", "body", "status", "words"), [
    ("GHOST01", {"deployment": "PS120001"}, 404, ["no client named 'GHOST01'"]),
    ("CLIENT01", {}, 400, ["'deployment' (the deployment ID) is required"]),
    ("CLIENT01", {"deployment": ["PS120001"]}, 400, ["'deployment' (the deployment ID) is required"]),
    ("CLIENT01", {"deployment": "PS120001", "launch_mode": "Telepathy"}, 400, ["unknown launch mode 'Telepathy'",
                                                                              "Software Center"]),
    ("CLIENT01", b"deployment=PS120001", 400, ["not valid JSON"]),
    ("CLIENT01", b"null", 400, ["must be a JSON object"]),
])
def test_bad_installs_are_refused(with_client: TestClient, client: str, body: Any, status: int,
                                  words: list[str]) -> None:
    path = f"/clients/{client}/installs"
    response = with_client.post(path, **({"content": body} if isinstance(body, bytes) else {"json": body}))
    assert_refused(response, status, *words)
    assert with_client.get("/_harness/state").json()["runs"] == {}


@pytest.mark.parametrize("wait", ["soon", "-1", "31", "nan", "inf", ""])
def test_a_bad_wait_for_a_run_is_400(with_client: TestClient, run_id: str, wait: str) -> None:
    assert_refused(with_client.get(f"/clients/CLIENT01/runs/{run_id}?wait={wait}"), 400, "'wait' must be a number",
                   "0 to 30")


def test_a_run_read_with_wait_answers_once_it_has_ended(with_client: TestClient, run_id: str) -> None:
    # The run fails at once (its site is a closed port): a wait of 30 s ends with it, not with the 30 s.
    state = with_client.get(f"/clients/CLIENT01/runs/{run_id}?wait=30").json()
    assert state["status"] == "failed"


def test_unknown_runs_are_404(with_client: TestClient, run_id: str) -> None:
    assert with_client.get(f"/clients/CLIENT01/runs/{run_id}").status_code == 200
    assert_refused(with_client.get("/clients/CLIENT01/runs/CLIENT01-999"), 404, "no run 'CLIENT01-999'")
    assert_refused(with_client.get(f"/clients/GHOST01/runs/{run_id}"), 404, f"client 'GHOST01' has no run '{run_id}'")


@pytest.mark.parametrize("log", ["nosuch.log", "%2e%2e", "TSAgent.log"])
def test_unknown_log_names_are_404_listing_the_logs(with_client: TestClient, run_id: str, log: str) -> None:
    """TSAgent.log is a real client log, but this run wrote nothing to it."""
    response = with_client.get(f"/clients/CLIENT01/runs/{run_id}/logs/{log}")
    assert_refused(response, 404, f"run {run_id} has no log")
    assert with_client.get(f"/clients/CLIENT01/runs/{run_id}/logs/smsts.log").status_code == 200


def test_all_of_a_runs_logs_come_in_one_answer(with_client: TestClient, run_id: str) -> None:
    with_client.get(f"/clients/CLIENT01/runs/{run_id}?wait=30")
    names = with_client.get(f"/clients/CLIENT01/runs/{run_id}").json()["logs"]
    every = with_client.get(f"/clients/CLIENT01/runs/{run_id}/logs").json()
    assert sorted(every) == sorted(names) and "execmgr.log" in every
    assert every["execmgr.log"] == with_client.get(f"/clients/CLIENT01/runs/{run_id}/logs/execmgr.log").text
    assert_refused(with_client.get("/clients/CLIENT01/runs/CLIENT01-999/logs"), 404, "no run 'CLIENT01-999'")


@pytest.mark.parametrize(("path", "words"), [
    ("", ["is not on the client's C: drive"]),
    ("D:\\Drivers", ["'D:\\\\Drivers' is not on the client's C: drive"]),
    ("C:\\Windows\\..\\..\\etc", ["is not on the client's C: drive"]),
    ("C:/Windows/../../etc", ["is not on the client's C: drive"]),
    ("\\\\server\\share\\x", ["is not on the client's C: drive"]),
    ("C:\\" + "A" * 300, ["cannot be looked up"]),
], ids=["empty", "other-drive", "dot-dot", "forward-slashes", "unc", "name-too-long"])
def test_bad_client_file_paths_are_400(with_client: TestClient, path: str, words: list[str]) -> None:
    assert with_client.get("/clients/CLIENT01/files", params={"path": "C:\\Windows"}).status_code == 200
    assert_refused(with_client.get("/clients/CLIENT01/files", params={"path": path}), 400, *words)


def test_files_of_an_unknown_client_are_404(agent: TestClient) -> None:
    assert_refused(agent.get("/clients/GHOST01/files", params={"path": "C:\\"}), 404, "no client named 'GHOST01'")


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("DELETE", "/clients", "POST"),
    ("GET", "/clients/CLIENT01/installs", "POST"),
    ("POST", "/clients/CLIENT01/runs/CLIENT01-1", "GET"),
])
def test_wrong_verbs_are_405_naming_the_allowed_ones(agent: TestClient, method: str, path: str, allowed: str) -> None:
    assert_refused(agent.request(method, path), 405, f"{method} is not allowed on {path}", allowed)


def test_unknown_paths_are_404_naming_them(agent: TestClient) -> None:
    assert_refused(agent.get("/clients/CLIENT01/logs"), 404, "no endpoint at /clients/CLIENT01/logs")

"""A client's link: profiles from model units, and the agent's API for it (a link when a client is made or later,
in its state and its logs). tests/unit/client/test_link_pacing.py paces bytes over it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from harness.client.agent import create_app
from harness.client.channel import SiteEndpoints
from harness.client.client import EmulatedClient
from harness.client.link import LinkProfile, LinkTransport
from harness.client.logs import ClientLogs
from harness.clock.model_clock import ModelClock
from harness.model.client_settings import CloudServicesSettings, NetworkLocation
from harness.model.units import Scale
from harness.net.tls import TestPKI
from harness.service.configs import AgentServiceConfig

# -- profiles ------------------------------------------------------------------------------------------------


def test_a_profile_from_model_units() -> None:
    assert LinkProfile.parse("20 Mbit/s", latency="80 ms") == LinkProfile(20.0, None, 0.08, 0.0)
    assert LinkProfile.parse("8 Mbps", up="2 Mbit/s", latency="1.5 s", jitter="10 ms") == LinkProfile(8, 2, 1.5, 0.01)


def test_a_profile_from_json_takes_model_units_or_numbers_and_round_trips() -> None:
    profile = LinkProfile.from_json({"down": "20 Mbit/s", "up": 5, "latency": "80 ms", "jitter": 0.01})
    assert profile == LinkProfile(20.0, 5.0, 0.08, 0.01)
    assert LinkProfile.from_json(profile.to_json()) == profile
    assert LinkProfile.from_json({"down": 100, "up": None}) == LinkProfile(100.0)


def test_a_profile_describes_itself_in_model_units() -> None:
    assert LinkProfile(20, latency_s=0.08).describe() == "20 Mbit/s down, up not shaped, 80 ms round-trip latency"
    assert LinkProfile(8, 2, 1.5, 0.25).describe() == ("8 Mbit/s down, 2 Mbit/s up, 1.5 s round-trip latency "
                                                      "± 250 ms jitter")


@pytest.mark.parametrize(("data", "words"), [
    ({}, "'down' (the download bandwidth"),
    ({"down": "20 Mbit"}, "link down: unknown bandwidth unit 'Mbit'"),
    ({"down": "0 Mbit/s"}, "link down bandwidth must be a positive number"),
    ({"down": 20, "up": -1}, "link up bandwidth must be a positive number"),
    ({"down": 20, "latency": "80 parsecs"}, "link latency: unknown time unit"),
    ({"down": 20, "latency": -0.5}, "link latency must be 0 or more model seconds"),
    ({"down": True}, "link down must be a string in model units or a number"),
    ({"down": 20, "loss": "1 %"}, "unknown field 'loss'"),
], ids=["no-down", "bad-unit", "zero", "negative-up", "bad-latency-unit", "negative-latency", "bool", "unknown"])
def test_bad_profiles_name_the_field(data: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        LinkProfile.from_json(data)


# -- the agent: a link when a client is made or later, in its state and its logs --------------------------------


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[TestClient]:
    pki = TestPKI.create(tmp_path / "pki")
    enrollment = pki.enrollment_ca()
    config = {"tls": {"ca": str(pki.ca_cert_path)}, "clock": ModelClock.starting_now(Scale(5000)).to_json(),
              "workdir": str(tmp_path / "clients"), "zones": {"internet": {}, "intranet": {}},
              "enrollment": {"cert": str(enrollment.cert_path), "key": str(enrollment.key_path)},
              "endpoints": {"site_code": "PS1", "mp_url": "https://cm01.corp.contoso.example",
                            "cmg_url": "https://cmg.contoso.example/CCM_Proxy_MutualAuth/1"}}
    with TestClient(create_app(AgentServiceConfig.from_json(config)), raise_server_exceptions=False) as api:
        yield api
        api.post("/_harness/reset")


def test_a_client_is_made_with_a_link(agent: TestClient) -> None:
    made = agent.post("/clients", json={"name": "CLIENT01", "link": {"down": "20 Mbit/s", "latency": "80 ms"}})
    assert made.status_code == 201, made.text
    expected = {"down": 20.0, "up": None, "latency": 0.08, "jitter": 0.0,
                "text": "20 Mbit/s down, up not shaped, 80 ms round-trip latency"}
    assert made.json()["link"] == expected
    assert agent.get("/clients").json()["CLIENT01"]["link"] == expected
    shaped = agent.app.state.agent.clients["CLIENT01"]
    assert shaped.http._transport is shaped.link  # every request of the client goes through its link


def test_a_link_is_set_later_and_removed(agent: TestClient) -> None:
    agent.post("/clients", json={"name": "CLIENT01"})
    assert agent.get("/clients").json()["CLIENT01"]["link"] is None
    changed = agent.put("/clients/CLIENT01/link", json={"down": "100 Mbit/s", "up": "10 Mbit/s"})
    assert changed.status_code == 200, changed.text
    assert agent.get("/_harness/state").json()["clients"]["CLIENT01"]["link"]["up"] == 10.0
    assert agent.delete("/clients/CLIENT01/link").json() == {"name": "CLIENT01", "link": None}


@pytest.mark.parametrize(("method", "path", "body", "status", "words"), [
    ("POST", "/clients", {"name": "CLIENT01", "link": "20 Mbit/s"}, 400, "'link' must be an object"),
    ("POST", "/clients", {"name": "CLIENT01", "link": {"down": "fast"}}, 400, "'link': link down: not a bandwidth"),
    ("PUT", "/clients/CLIENT02/link", {"down": 20}, 404, "no client named 'CLIENT02'"),
    ("PUT", "/clients/CLIENT03/link", {"up": 20}, 400, "'down' (the download bandwidth"),
], ids=["not-an-object", "bad-bandwidth", "unknown-client", "no-down"])
def test_bad_links_are_refused(agent: TestClient, method: str, path: str, body: Any, status: int,
                               words: str) -> None:
    agent.post("/clients", json={"name": "CLIENT03"})
    response = agent.request(method, path, json=body)
    assert response.status_code == status
    assert words in f"{response.headers.get('x-harness-reason', '')} {response.text}"


def test_a_run_logs_the_link_once(tmp_path: Path) -> None:
    http = httpx.Client()
    client = EmulatedClient("CLIENT01", NetworkLocation.INTERNET, CloudServicesSettings(always_on_internet=True),
                            None, tmp_path, http, link=LinkTransport(httpx.HTTPTransport(), Scale(5000),
                                                                     profile=LinkProfile(20)))
    logs = ClientLogs(lambda: datetime.now(UTC))
    client.channel(SiteEndpoints("PS1", "https://cm01.corp.contoso.example", "https://cmg.contoso.example/x"),
                   logs, lambda: datetime.now(UTC))
    lines = [line for line in logs.text("ClientLocation.log").splitlines() if "Network link" in line]
    assert len(lines) == 1
    assert "Network link: 20 Mbit/s down, up not shaped, 0 ms round-trip latency" in lines[0]
    http.close()

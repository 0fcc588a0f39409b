"""The client's messaging code against the real site emulator, in-process: respx hands each request
to the site's ASGI app through Starlette's TestClient, so both sides' real logic meet without a socket."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx
from starlette.testclient import TestClient

from harness.client.channel import ManagementChannel, SiteEndpoints
from harness.client.client import EmulatedClient
from harness.client.logs import ClientLogs
from harness.clock.model_clock import ModelClock
from harness.emulators.site.app import create_app
from harness.model.client_settings import CloudServicesSettings, NetworkLocation
from harness.model.units import Scale
from harness.net.tls import TestPKI
from harness.protocol import policy
from harness.protocol.cmtrace import parse_log
from harness.protocol.location import ContentLocationRequest
from harness.service.configs import SiteServiceConfig

MP = "https://cm01.corp.contoso.example:4443"


@pytest.fixture
def site(tmp_path: Path, seed_upgrade: Callable[..., None]) -> Iterator[TestClient]:
    pki = TestPKI.create(tmp_path / "pki")
    app = create_app(SiteServiceConfig.from_json({
        "tls": {"ca": str(pki.ca_cert_path)}, "clock": ModelClock.starting_now(Scale(5000)).to_json(),
                      "key": secrets.token_hex(32), "site_code": "PS1", "version": 1910,
                      "mp_fqdn": "cm01.corp.contoso.example", "mp_port": 4443, "cloud_sources": []}))
    with TestClient(app, base_url=MP) as client:
        seed_upgrade(client, allow_internet=False)
        yield client


@pytest.fixture
def channel(site: TestClient) -> Iterator[ManagementChannel]:
    def into_site(request: httpx.Request) -> httpx.Response:
        answer = site.request(request.method, str(request.url), content=request.content, headers=request.headers)
        return httpx.Response(answer.status_code, content=answer.content, headers=answer.headers)

    now = datetime.now(UTC)
    with respx.mock(assert_all_called=False) as mock, httpx.Client() as http:
        mock.route(url__startswith=MP).mock(side_effect=into_site)
        yield ManagementChannel(client="CLIENT01", http=http, endpoints=SiteEndpoints("PS1", MP, "https://unused"),
                                on_internet=False, site_token="unused", logs=ClientLogs(lambda: now),
                                model_now=lambda: now)


def test_site_information_names_the_version(channel: ManagementChannel) -> None:
    info = channel.site_information()
    assert (info.site_code, info.full_version_label, info.build_number) == ("PS1", "1910", 8913)


def test_policy_reaches_the_client_with_its_flags_and_steps(channel: ManagementChannel) -> None:
    (assignment,) = channel.policy_assignments("GUID:1")
    assert assignment.flags & policy.INTRANETONLY and assignment.flags & policy.TASKSEQUENCE
    body = channel.policy_body(assignment)
    assert body.advertisement_id == "PS120001" and body.package_id == "PS100010"
    assert [(s.name, s.package_id, s.duration_s) for s in body.steps] == [
        ("Upgrade Operating System", "PS100011", 2400.0)]
    assert [(p.package_id, p.size) for p in body.references] == [("PS100011", 3_200_000_000)]


def test_intranet_location_request_gets_the_dp_with_the_hash(channel: ManagementChannel, site: TestClient) -> None:
    reply = channel.locate(ContentLocationRequest(package_id="PS100011", package_version=1, site_code="PS1",
                                                  use_azure=True, use_internet_dp=False))
    assert [r.dp_type for r in reply.records] == ["SERVER"]
    assert reply.records[0].url == f"{MP}/SMS_DP_SMSPKG$/PS100011"
    assert reply.hash_sha256 == site.get("/_harness/state").json()["packages"]["PS100011"]["sha256"]


def test_internet_location_request_gets_no_dp(channel: ManagementChannel) -> None:
    reply = channel.locate(ContentLocationRequest(package_id="PS100011", package_version=1, site_code="PS1",
                                                  use_azure=True, use_internet_dp=True))
    assert reply.records == () and reply.site_locality == "FALLBACK"


def test_a_client_registers_once_and_its_smsid_identifies_it_to_policy(channel: ManagementChannel, site: TestClient,
                                                                        tmp_path: Path) -> None:
    client = EmulatedClient("CLIENT01", NetworkLocation.INTRANET, CloudServicesSettings(), None, tmp_path,
                            channel.http)
    logs = ClientLogs(lambda: datetime.now(UTC))
    smsid = client.register(channel, logs, datetime.now(UTC))
    assert client.client_id == smsid == site.get("/_harness/state").json()["registered_clients"]["CLIENT01"]
    assert client.register(channel, logs, datetime.now(UTC)) == smsid  # the site knows it by its name
    channel.policy_assignments(client.client_id)
    assert f"Policy assignment request received from CLIENT01 ({smsid})" in site.get(
        "/_harness/logs/MP_Policy.log").text
    lines = [line.message for line in parse_log(logs.text("ClientIDManagerStartup.log"))]
    assert lines[:4] == [
        "[RegTask] - Executing registration task synchronously.",
        "Registering client using its self-signed certificate.",
        f"[RegTask] - Client is not registered. Sending registration request for CLIENT01 to {MP}/ccm_system/request",
        f"[RegTask] - Client is registered. Server assigned ClientID is {smsid}. Approval status 1",
    ]

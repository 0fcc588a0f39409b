"""The site's and the CMG's own CMTrace logs, in-process: written where the behaviour happens,
served by the control API, cleared by reset. The CMG forwards to the in-process site through respx; its
storage account is a closed port."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import respx
from starlette.applications import Starlette
from starlette.testclient import TestClient

from harness.clock.model_clock import ModelClock
from harness.emulators.cmg.app import create_app as create_cmg
from harness.emulators.site.app import create_app as create_site
from harness.model.units import Scale
from harness.net.tls import TestPKI
from harness.protocol import messaging, policy, registration, site_info
from harness.protocol.cmtrace import LogLine, Severity, parse_log
from harness.protocol.content_url import ContentUrl, build_content_url
from harness.protocol.location import ContentLocationRequest, build_location_request
from harness.protocol.tokens import Token, sign_token
from harness.service.configs import CmgServiceConfig, SiteServiceConfig
from harness.service.control import ServiceLogs

MP_FQDN = "cm01.corp.contoso.example"
CMG_FQDN = "cmg.contoso.example"
CMG_ID = "72186325152220500"
COMPONENTS = {
    "MP_Location.log": {"MP_LocationManager"},
    "MP_Policy.log": {"MP_PolicyManager"},
    "CCM_STS.log": {"CCM_STS"},
    "MP_GetAuth.log": {"MP_GetAuth_ISAPI"},
    "MP_RegistrationManager.log": {"MP_RegistrationManager"},
    "CMGService.log": {"CMGService"},
    "SMS_Cloud_ProxyConnector.log": {"SMS_CLOUD_PROXYCONNECTOR"},
    "CMGContentService.log": {"CMGContentService"},
}


class World:
    def __init__(self, pki: TestPKI, port: int) -> None:
        self.pki, self.port = pki, port
        self.clock = ModelClock.starting_now(Scale(5000))
        self.key = secrets.token_bytes(32)

    def token(self, kind: str, claims: tuple[tuple[str, str], ...] = (), key: bytes | None = None) -> str:
        issued = self.clock.now() - timedelta(hours=1)
        return sign_token(Token(kind, "CLIENT01", issued, issued + timedelta(hours=8), claims), key or self.key)

    def site_app(self) -> Starlette:
        return create_site(SiteServiceConfig.from_json({
            "tls": {"ca": str(self.pki.ca_cert_path)}, "clock": self.clock.to_json(),
                            "key": self.key.hex(), "site_code": "PS1", "version": 2002, "mp_fqdn": MP_FQDN,
                            "mp_port": self.port, "cloud_sources": []}))

    def cmg_app(self) -> Starlette:
        account = {"name": "contosocmgcontent", "key": "a2V5", "endpoint": f"https://127.0.0.1:{self.port}/x",
                   "public_endpoint": f"https://contosocmgcontent.blob.core.example:{self.port}"}
        return create_cmg(CmgServiceConfig.from_json({
            "tls": {"ca": str(self.pki.ca_cert_path)}, "clock": self.clock.to_json(),
                           "key": self.key.hex(), "cmg_id": CMG_ID, "mp_url": f"https://{MP_FQDN}:{self.port}",
                           "hosts": {MP_FQDN: "127.0.0.1"}, "storage": account}))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def world(pki: TestPKI) -> Iterator[World]:
    """The port is bound but never listens: the MP behind the CMG only answers through respx."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield World(pki, sock.getsockname()[1])


@pytest.fixture
def site_app(world: World) -> Starlette:
    return world.site_app()


@pytest.fixture
def site(site_app: Starlette, seed_upgrade: Callable[..., None]) -> Iterator[TestClient]:
    with TestClient(site_app, base_url=f"https://{MP_FQDN}", raise_server_exceptions=False) as client:
        seed_upgrade(client)
        yield client


@pytest.fixture
def cmg(world: World, site_app: Starlette, site: TestClient) -> Iterator[TestClient]:
    """The CMG, whose management point (the resolver maps it to the closed port) is the in-process site."""
    with respx.mock(assert_all_called=False) as mock, \
            TestClient(world.cmg_app(), base_url=f"https://{CMG_FQDN}", raise_server_exceptions=False) as client:
        mock.route(host="127.0.0.1", port=world.port).mock(side_effect=respx.ASGIHandler(site_app))
        yield client


def message(client: TestClient, endpoint: str, body: str, **headers: str) -> str:
    payload, content_type = messaging.encode_message(messaging.CcmMessage(target_endpoint=endpoint, body=body,
                                                                          source_host="CLIENT01"))
    path = headers.pop("path", "/ccm_system/request")
    answer = client.request(messaging.CCM_POST, path, content=payload,
                            headers={"Content-Type": content_type, "X-CCM-Client": "CLIENT01", **headers})
    assert answer.status_code == 200, answer.text
    return messaging.decode_reply(answer.content, answer.headers["content-type"])


def logs(client: TestClient) -> dict[str, list[LogLine]]:
    """Every log the service lists, parsed; each line's component is the one documented for its file."""
    names = [entry["name"] for entry in client.get("/_harness/logs").json()]
    parsed = {name: parse_log(client.get(f"/_harness/logs/{name}").text) for name in names}
    for name, lines in parsed.items():
        assert lines, f"{name} is listed but has no lines"
        assert {line.component for line in lines} <= COMPONENTS[name], name
    return parsed


def messages(lines: list[LogLine]) -> list[str]:
    return [line.message for line in lines]


def location(use_azure: bool = True, internet: bool = False) -> str:
    return build_location_request(ContentLocationRequest(package_id="PS100011", package_version=1, site_code="PS1",
                                                         use_azure=use_azure, use_internet_dp=internet))


# -- site -----------------------------------------------------------------------------------------------


def test_location_and_site_information_requests_go_to_mp_location_log(site: TestClient, world: World) -> None:
    message(site, "MP_LocationManager", site_info.build_site_info_request("PS1"))
    message(site, "MP_LocationManager", location())
    message(site, "MP_LocationManager", location(internet=True))
    lines = logs(site)["MP_Location.log"]
    assert messages(lines) == [
        "Site information request received from CLIENT01; replying with site code PS1, version 5.00.8968.1000 (2002)",
        "Content location request received from CLIENT01 for package PS100011:1, UseAzure=1 UseInternetDP=0",
        f"Content location reply for package PS100011:1 to CLIENT01 with 1 locations, site locality LOCAL: "
        f"https://{MP_FQDN}:{world.port}/SMS_DP_SMSPKG$/PS100011 (SERVER, LOCAL)",
        "Content location request received from CLIENT01 for package PS100011:1, UseAzure=1 UseInternetDP=1",
        "Content location reply for package PS100011:1 to CLIENT01 with 0 locations, site locality FALLBACK",
    ]
    assert lines[-1].severity == Severity.WARNING


def test_location_request_for_an_unknown_package_is_logged_as_an_error(site: TestClient) -> None:
    request = location().replace("PS100011", "PS1FFFFF")
    payload, content_type = messaging.encode_message(messaging.CcmMessage("MP_LocationManager", request))
    assert site.request("CCM_POST", "/ccm_system/request", content=payload,
                        headers={"Content-Type": content_type}).status_code == 404
    last = logs(site)["MP_Location.log"][-1]
    assert last.severity == Severity.ERROR
    assert last.message == "Content location request for PS1FFFFF:1 failed: package PS1FFFFF is not defined on site PS1"


def test_policy_assignments_and_policy_body_go_to_mp_policy_log(site: TestClient) -> None:
    reply = message(site, "MP_PolicyManager", policy.build_request_assignments("GUID:1"))
    (assignment,) = policy.parse_assignment_reply(reply)
    assert site.get(f"/SMS_MP/.sms_pol?{assignment.policy_id}.1_00").status_code == 200
    assert site.get("/SMS_MP/.sms_pol?PS129999-PS100010-6F6BCC28.1_00").status_code == 404
    lines = logs(site)["MP_Policy.log"]
    assert messages(lines)[:4] == [
        "Policy assignment request received from CLIENT01 (GUID:1)",
        f"Returning 1 policy assignments to CLIENT01: {assignment.policy_id}",
        f"Policy body request received from an intranet client for {assignment.policy_id}",
        f"Policy body {assignment.policy_id} served to an intranet client: task sequence PS100010 (Upgrade), "
        "1 referenced packages",
    ]
    assert lines[-1].severity == Severity.ERROR and "PS129999-PS100010-6F6BCC28 not served" in lines[-1].message


def test_registrations_go_to_mp_registration_manager_log(site: TestClient,
                                                          registration_body: Callable[..., str]) -> None:
    first = registration.parse_registration_reply(message(site, "MP_ClientRegistration", registration_body()))
    again = registration.parse_registration_reply(message(site, "MP_ClientRegistration", registration_body()))
    tampered = registration_body().replace('Value="0"', 'Value="1"')  # InternetFlag, after signing
    payload, content_type = messaging.encode_message(messaging.CcmMessage("MP_ClientRegistration", tampered))
    assert site.request("CCM_POST", "/ccm_system/request", content=payload, headers={
        "Content-Type": content_type, "X-CCM-Client": "CLIENT01"}).status_code == 400
    received = ("Registration request received from CLIENT01: Netbios Name CLIENT01, FQ Name "
                "CLIENT01.corp.contoso.example, InternetFlag 0, agent CCMSetup.exe 5.00.8913.1000; signature verified")
    lines = logs(site)["MP_RegistrationManager.log"]
    assert again == first
    assert messages(lines) == [
        received, f"Client CLIENT01 registered with SMSID {first.smsid}, approved",
        received, f"Client CLIENT01 was already registered with SMSID {first.smsid}, approved",
        "Registration request from CLIENT01 refused: ClientRegistrationRequest: the signature does not match <Data> "
        "and the signing certificate",
    ]
    assert lines[-1].severity == Severity.ERROR


def test_ccm_sts_logs_the_documented_issuing_lines_and_refusals(site: TestClient, world: World) -> None:
    assert site.post("/CCM_STS", headers={"Authorization": f"Bearer {world.token('site')}"}).status_code == 200
    assert site.post("/CCM_STS").status_code == 401
    bad = world.token("site", key=secrets.token_bytes(32))
    assert site.post("/CCM_STS", headers={"Authorization": f"Bearer {bad}"}).status_code == 401
    lines = logs(site)["CCM_STS.log"]
    assert lines[0].message.startswith("Validated ConfigMgr token. TokenType: BulkRegistration Subject: CLIENT01 ")
    assert lines[1].message.startswith("Created SCCM token, token type: Device, subject: CLIENT01")
    assert messages(lines)[2:4] == ["Issued token", "Return token to client"]
    assert [(line.severity, line.message.split(";")[0]) for line in lines[4:]] == [
        (Severity.ERROR, "No site token in POST /CCM_STS"),
        (Severity.ERROR, "Failed to validate site token for POST /CCM_STS: bad signature"),
    ]


def test_mplist_and_rejected_ccm_tokens_go_to_mp_getauth_log(site: TestClient, world: World) -> None:
    assert site.get("/SMS_MP/.sms_aut?MPLIST").status_code == 200
    answer = site.request("CCM_POST", "/ccm_system_tokenauth/request",
                          headers={"Authorization": f"Bearer {world.token('site')}"})
    assert answer.status_code == 401
    lines = logs(site)["MP_GetAuth.log"]
    assert lines[0].message == f"MPLIST request: returning 1 management point, {MP_FQDN} (build 8968)"
    assert lines[1].severity == Severity.ERROR
    assert lines[1].message.startswith("Failed to validate ccm token for CCM_POST /ccm_system_tokenauth/request:")


# -- CMG ------------------------------------------------------------------------------------------------


def test_forwarded_requests_are_logged_by_the_cmg_and_the_connection_point(cmg: TestClient, site: TestClient,
                                                                           world: World) -> None:
    proxy = f"/CCM_Proxy_ServerAuth/{CMG_ID}"
    answer = cmg.post(f"{proxy}/CCM_STS", headers={"Authorization": f"Bearer {world.token('site')}"})
    assert answer.status_code == 200, answer.text
    message(cmg, "MP_LocationManager", location(internet=True), path=f"{proxy}/ccm_system_tokenauth/request",
            Authorization=f"Bearer {answer.text.strip()}")
    gateway = logs(cmg)
    service = messages(gateway["CMGService.log"])
    assert [line.split("  RequestSize")[0] for line in service] == [
        f"RequestUri: /CCM_PROXY_SERVERAUTH/{CMG_ID}/CCM_STS  RequestCount: 1",
        f"RequestUri: /CCM_PROXY_SERVERAUTH/{CMG_ID}/CCM_SYSTEM_TOKENAUTH/REQUEST  RequestCount: 1",
    ]
    assert all(" Bytes  ResponseCount: 1  ResponseSize: " in line and line.endswith(" ms") for line in service)
    connector = messages(gateway["SMS_Cloud_ProxyConnector.log"])
    mp = f"https://{MP_FQDN}:{world.port}"
    assert connector[0] == (f"Switched to internal URL. Replaced 'https://{CMG_FQDN}/CCM_Proxy_ServerAuth/{CMG_ID}/"
                            f"CCM_STS' with '{mp}/CCM_STS'")
    assert connector[1].startswith("MessageID: ")
    assert f" RequestURI: {mp}/CCM_STS EndpointName: CCM_STS ResponseHeader: HTTP/1.1 200 OK ~~ " in connector[1]
    assert "EndpointName: ccm_system_tokenauth ResponseHeader: HTTP/1.1 200 OK" in connector[3]
    behind = logs(site)
    assert "Issued token" in messages(behind["CCM_STS.log"])
    assert "UseInternetDP=1" in behind["MP_Location.log"][0].message


def test_refused_requests_are_logged_with_the_reason(cmg: TestClient, world: World) -> None:
    assert cmg.post(f"/CCM_Proxy_ServerAuth/{CMG_ID}/CCM_STS").status_code == 401
    assert cmg.request("CCM_POST", f"/CCM_Proxy_MutualAuth/{CMG_ID}/ccm_system_tokenauth/request").status_code == 403
    lines = logs(cmg)["CMGService.log"]
    assert {line.severity for line in lines} == {Severity.WARNING}
    assert messages(lines) == [
        f"RequestUri: /CCM_PROXY_SERVERAUTH/{CMG_ID}/CCM_STS  POST answered 401: a site token is required; the "
        "request was not forwarded",
        f"RequestUri: /CCM_PROXY_MUTUALAUTH/{CMG_ID}/CCM_SYSTEM_TOKENAUTH/REQUEST  CCM_POST answered 403: "
        "CCM_Proxy_MutualAuth needs a PKI client authentication certificate and none was presented; token clients use "
        "CCM_Proxy_ServerAuth",
    ]


def content_query(world: World) -> str:
    now = world.clock.now()
    url = build_content_url(ContentUrl(base=f"https://{CMG_FQDN}", package_id="PS100011", content_id="PS100011",
                                       tid="GUID:3fb5cf5d-0000-4000-8000-000000000001", issuer=MP_FQDN.upper(),
                                       start=now - timedelta(hours=1), end=now + timedelta(hours=7)))
    return url.split("?", 1)[1]


def test_content_service_logs_refused_tokens_and_storage_errors(cmg: TestClient, world: World) -> None:
    path = f"/downloadrestservice.svc/getcontentxmlsecure?{content_query(world)}"
    assert cmg.get(path).status_code == 401
    wrong = world.token("content", claims=(("pid", "PS100012"),))
    assert cmg.get(path, headers={"Authorization": f"Bearer {wrong}"}).status_code == 403
    right = world.token("content", claims=(("pid", "PS100011"),))
    assert cmg.get(path, headers={"Authorization": f"Bearer {right}"}).status_code == 503  # storage is down
    assert cmg.get("/downloadrestservice.svc/getcontentxmlsecure?pid=PS100011").status_code == 400
    lines = logs(cmg)["CMGContentService.log"]
    assert [line.severity for line in lines] == [Severity.ERROR, Severity.ERROR, Severity.INFO, Severity.ERROR,
                                                 Severity.WARNING]
    assert "refused with 401: a content access token is required" in lines[0].message
    assert "refused with 403: content access token is for PS100012, not PS100011" in lines[1].message
    assert lines[2].message.startswith("Validated content access token for CLIENT01: pid=PS100011 cid=PS100011 ")
    assert lines[3].message.startswith("ERROR: Exception processing request. azure.core.exceptions.")
    assert lines[4].message.startswith("Refused malformed content request 'pid=PS100011': ")


# -- control API ----------------------------------------------------------------------------------------


def test_logs_list_sizes_and_reset_clears_them(site: TestClient) -> None:
    message(site, "MP_LocationManager", location())
    listing: list[dict[str, Any]] = site.get("/_harness/logs").json()
    assert [entry["name"] for entry in listing] == ["MP_Location.log"]
    assert listing[0]["size"] == len(site.get("/_harness/logs/MP_Location.log").content) > 0
    [with_text] = site.get("/_harness/logs?text=true").json()
    assert with_text == {**listing[0], "text": site.get("/_harness/logs/MP_Location.log").text}
    assert site.post("/_harness/reset").status_code == 200
    assert site.get("/_harness/logs").json() == []
    answer = site.get("/_harness/logs/MP_Location.log")
    assert (answer.status_code, answer.text) == (200, "")


def test_a_listing_asked_with_text_other_than_true_or_false_is_400(site: TestClient) -> None:
    answer = site.get("/_harness/logs?text=yes")
    assert answer.status_code == 400
    assert "'text' must be true or false, not 'yes'" in answer.text


def test_an_unknown_log_is_404_naming_the_logs_there_are(site: TestClient, cmg: TestClient) -> None:
    answer = site.get("/_harness/logs/CMGService.log")
    assert answer.status_code == 404
    assert answer.headers["x-harness-reason"] == ("site has no log 'CMGService.log'; its logs are: CCM_STS.log, "
                                                  "MP_GetAuth.log, MP_Location.log, MP_Policy.log, "
                                                  "MP_RegistrationManager.log")
    assert cmg.get("/_harness/logs/MP_Location.log").status_code == 404


def test_a_full_log_rolls_to_lo_underscore_keeping_memory_bounded() -> None:
    now = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    service_logs = ServiceLogs({"MP_Location.log": "MP_LocationManager"}, lambda: now, max_chars=2000)
    for n in range(100):
        service_logs.write("MP_Location.log", f"line {n:03d}")
    sizes = {entry["name"]: entry["size"] for entry in service_logs.sizes()}
    assert set(sizes) == {"MP_Location.log", "MP_Location.lo_"} and all(s <= 2200 for s in sizes.values())
    current, rolled = (parse_log(service_logs.text(name) or "") for name in ("MP_Location.log", "MP_Location.lo_"))
    assert current[-1].message == "line 099" and rolled[-1].message == f"line {99 - len(current):03d}"
    with pytest.raises(KeyError, match=r"MP_Policy\.log"):
        service_logs.write("MP_Policy.log", "not a log of this service")


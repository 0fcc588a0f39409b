"""The site (management point GET endpoints, DP, admin and control API) answers bad input with a 4xx that names the
problem; tests/contract/test_site_bad_messages.py covers client messages, registrations and tokens."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.testclient import TestClient

from harness.clock.model_clock import ModelClock
from harness.emulators.site.app import create_app as create_site
from harness.net.tls import TestPKI
from harness.protocol.mpcert import parse_mpcert
from harness.service.configs import SiteServiceConfig
from tests.contract.raw import raw_get
from tests.contract.refusals import assert_refused
from tests.contract.site_requests import (
    DEPLOYMENT,
    MP_FQDN,
    PACKAGE,
    POLICY,
    SITE_CODE,
    TASK_SEQUENCE,
    MakeToken,
)

# -- MP GET endpoints ---------------------------------------------------------------------------------


def test_mplist_is_answered_and_other_sms_aut_requests_are_refused(site: TestClient) -> None:
    assert site.get("/SMS_MP/.sms_aut?MPLIST").status_code == 200
    assert_refused(site.get("/SMS_MP/.sms_aut?FOO"), 400, "'FOO'", "MPLIST")
    assert_refused(site.get("/SMS_MP/.sms_aut"), 400, "MPLIST")


@pytest.mark.parametrize("query", ["MPCERT", "mpcert"])
def test_mpcert_without_a_server_certificate_is_the_test_ca(site: TestClient, pki: TestPKI, query: str) -> None:
    response = site.get(f"/SMS_MP/.sms_aut?{query}")
    assert response.status_code == 200
    assert parse_mpcert(response.text) == der(pki.ca_cert_path)
    assert "MPCERT request: returning the certificate of" in site.get("/_harness/logs/MP_GetAuth.log").text


def test_mpcert_is_the_site_server_certificate(pki: TestPKI, clock: ModelClock, key: bytes) -> None:
    server = pki.issue_server_cert("site", [MP_FQDN])
    config = {"tls": {"ca": str(pki.ca_cert_path), "cert": str(server.cert_path), "key": str(server.key_path)},
              "clock": clock.to_json(), "key": key.hex(), "site_code": SITE_CODE, "version": 2002, "mp_fqdn": MP_FQDN,
              "mp_port": 443, "cloud_sources": []}
    with TestClient(create_site(SiteServiceConfig.from_json(config))) as site:
        assert parse_mpcert(site.get("/SMS_MP/.sms_aut?MPCERT").text) == der(server.cert_path)


def der(pem: Path) -> bytes:
    return x509.load_pem_x509_certificate(pem.read_bytes()).public_bytes(Encoding.DER)


@pytest.mark.parametrize("query", ["MPKEYINFORMATIONMEDIA", "MPCERT&x", "MPCERTS", "SITESIGNCERT"])
def test_other_sms_aut_requests_name_what_the_mp_answers(site: TestClient, query: str) -> None:
    assert_refused(site.get(f"/SMS_MP/.sms_aut?{query}"), 400, f"'{query}'", "MPLIST and MPCERT")


@pytest.mark.parametrize(("query", "status", "words"), [
    ("garbage", 400, ["'garbage'", "<PolicyID>.<version>_00"]),
    ("", 400, ["<PolicyID>.<version>_00"]),
    ("PS129999-PS100020-6F6BCC28.1_00", 404, ["no policy PS129999-PS100020-6F6BCC28"]),
    (f"{DEPLOYMENT}-PS1FFFFF-6F6BCC28.1_00", 404, [f"no policy {DEPLOYMENT}-PS1FFFFF"]),
])
def test_bad_policy_requests_are_refused(stocked_site: TestClient, query: str, status: int,
                                         words: list[str]) -> None:
    assert stocked_site.get(f"/SMS_MP/.sms_pol?{POLICY}.1_00").status_code == 200
    assert_refused(stocked_site.get(f"/SMS_MP/.sms_pol?{query}"), status, *words)


def test_policy_with_a_forged_token_is_refused(stocked_site: TestClient, make_token: MakeToken) -> None:
    response = stocked_site.get(f"/SMS_MP/.sms_pol?{POLICY}.1_00",
                                headers={"authorization": f"Bearer {make_token('ccm', key=b'forged')}"})
    assert_refused(response, 401, "bad signature")


# -- distribution point -------------------------------------------------------------------------------

DP = "/SMS_DP_SMSPKG$"


def test_dp_serves_a_distributed_package(stocked_site: TestClient) -> None:
    assert stocked_site.get(f"{DP}/{PACKAGE}/sources/install.esd").status_code == 200
    assert stocked_site.request("PROPFIND", f"{DP}/{PACKAGE}").status_code == 207


@pytest.mark.parametrize(("method", "path", "words"), [
    ("GET", f"{DP}/PS1FFFFF/sources/install.esd", ["package PS1FFFFF", MP_FQDN]),
    ("PROPFIND", f"{DP}/PS1FFFFF", ["package PS1FFFFF"]),
    ("GET", f"{DP}/{PACKAGE}/setup.exe", [f"package {PACKAGE} has no file 'setup.exe'"]),
    ("GET", f"{DP}/{PACKAGE}/%2e%2e/%2e%2e/etc/passwd", ["has no file '../../etc/passwd'"]),
    ("GET", f"{DP}/{PACKAGE}/..%2f..%2fetc%2fpasswd", ["has no file '../../etc/passwd'"]),
    ("GET", f"{DP}/%2e%2e/{PACKAGE}/sources/install.esd", ["package .."]),
    ("PROPFIND", f"{DP}/%2e%2e", ["package .. is not"]),
], ids=["get-unknown", "propfind-unknown", "unknown-file", "dot-dot-encoded", "slash-encoded",
        "package-dot-dot", "propfind-traversal"])
def test_dp_refuses_unknown_content_and_traversal(stocked_site: TestClient, method: str, path: str,
                                                 words: list[str]) -> None:
    assert_refused(stocked_site.request(method, path), 404, *words)


def test_dp_literal_dot_segments_reach_no_file(stocked_site: TestClient) -> None:
    """httpx would remove `..` before sending; a raw client (and h11 behind uvicorn) does not."""
    status, body = raw_get(stocked_site, f"{DP}/{PACKAGE}/../../etc/passwd")
    assert status == 404
    assert b"has no file '../../etc/passwd'" in body


def test_dp_does_not_serve_a_package_that_is_not_distributed_to_it(site: TestClient) -> None:
    assert site.put(f"/_harness/site/packages/{PACKAGE}", json={"name": "p", "size": "1 MB"}).status_code == 200
    assert_refused(site.get(f"{DP}/{PACKAGE}/content.bin"), 404, f"package {PACKAGE} is not on distribution point")


# -- verbs and unknown paths --------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("DELETE", "/ccm_system/request", "CCM_POST"),
    ("GET", "/ccm_system/request", "CCM_POST"),
    ("POST", "/ccm_system_tokenauth/request", "CCM_POST"),
    ("GET", "/CCM_STS", "POST"),
    ("POST", "/SMS_MP/.sms_aut", "GET"),
    ("PATCH", "/SMS_MP/.sms_pol", "GET"),
    ("PUT", f"{DP}/{PACKAGE}/content.bin", "GET"),
    ("DELETE", f"{DP}/{PACKAGE}", "PROPFIND"),
    ("POST", f"{DP}/Datalib", "GET"),
    ("PROPFIND", f"/SMS_DP_SMSSIG$/{PACKAGE}.1.tar", "GET"),
    ("GET", "/_harness/site/version", "PUT"),
    ("DELETE", "/_harness/site/packages/PS100011", "PUT"),
    ("GET", "/_harness/reset", "POST"),
])
def test_wrong_verbs_are_405_naming_the_allowed_ones(site: TestClient, method: str, path: str, allowed: str) -> None:
    response = site.request(method, path)
    assert_refused(response, 405, f"{method} is not allowed on {path}", allowed)
    assert allowed in response.headers["allow"]


def test_unknown_paths_are_404_naming_them(site: TestClient) -> None:
    assert_refused(site.get("/SMS_MP/.sms_xyz"), 404, "no endpoint at /SMS_MP/.sms_xyz")
    assert_refused(site.request("CCM_POST", "/ccm_system/requests"), 404, "/ccm_system/requests")


# -- admin API ----------------------------------------------------------------------------------------

ADMIN = "/_harness/site"
STEP = {"name": "Upgrade", "action": "Upgrade Operating System", "package": PACKAGE}


@pytest.mark.parametrize(("path", "body", "status", "words"), [
    ("version", b"{version: 1910", 400, ["not valid JSON"]),
    ("version", b"[1910]", 400, ["must be a JSON object"]),
    ("version", b"[" * 100_000, 400, ["nested too deeply"]),
    ("version", {}, 400, ["missing field 'version'"]),
    ("version", {"version": 1905}, 422, ["unknown Configuration Manager version 1905", "1910"]),
    ("version", {"version": "soon"}, 422, ["not a Configuration Manager version: 'soon'"]),
    ("packages/PS100012", {"name": "p"}, 400, ["missing field 'size'"]),
    ("packages/PS100012", {"size": "1 GB"}, 400, ["missing field 'name'"]),
    ("packages/PS100012", {"name": "p", "size": "3.2 parsecs"}, 422, ["unknown size unit 'parsecs'"]),
    ("packages/PS100012", {"name": "p", "size": "big"}, 422, ["not a size: 'big'"]),
    ("packages/PS100012", {"name": "p", "size": -5}, 422, ["must have a positive size"]),
    ("packages/PS100012", {"name": "p", "size": [1]}, 422, ["list"]),
    ("packages/PS100012", b'{"name": "p", "size": Infinity}', 422, ["not a finite number"]),
    ("packages/PS100012", {"name": "p", "size": "1" + "0" * 400 + " B"}, 422, ["not a finite number"]),
    ("packages/PS100012", {"name": "p", "size": 10**400}, 422, ["too large for scale 5000"]),
    ("packages/PS100012", {"name": "p", "size": "1000 TB"}, 422, ["PS100012 is too large for scale 5000"]),
    ("packages/PS100012", {"name": "p", "size": "1 GB", "type": "Firmware"}, 422,
     ["unknown package type 'Firmware'", "OS upgrade package"]),
    ("packages/PS100012", {"name": "p", "size": "1 GB", "version": 0}, 422, ["version must be 1 or more"]),
    ("packages/PS100012", b'{"name": "p", "size": "1 GB", "version": 1e400}', 422, ["infinity"]),
    ("packages/NOTANID", {"name": "p", "size": "1 GB"}, 422, ["'NOTANID' is not a ConfigMgr package ID"]),
    ("task-sequences/PS100021", {"name": "ts"}, 400, ["missing field 'steps'"]),
    ("task-sequences/PS100021", {"name": "ts", "steps": []}, 422, ["'steps' must be a non-empty list"]),
    ("task-sequences/PS100021", {"name": "ts", "steps": ["upgrade"]}, 422, ["each step or group is an object"]),
    ("task-sequences/PS100021", {"name": "ts", "steps": [{"action": "Restart Computer"}]}, 422,
     ["with a 'name'"]),
    ("task-sequences/PS100021", {"name": "ts", "steps": [{**STEP, "action": "Reboot Twice"}]}, 422,
     ["unknown step action 'Reboot Twice'", "Restart Computer"]),
    ("task-sequences/PS100021", {"name": "ts", "steps": [{**STEP, "duration": "forever"}]}, 422,
     ["not a duration: 'forever'"]),
    ("task-sequences/PS100021", {"name": "ts", "steps": [{**STEP, "duration": -1}]}, 422, ["negative duration"]),
    ("task-sequences/PS100021", {"name": "ts", "steps": [{**STEP, "package": "PS1FFFFF"}]}, 422,
     ["references undefined package(s) PS1FFFFF"]),
    ("task-sequences/PS100021", {"name": "ts", "steps": [{**STEP, "package": ["PS100011"]}]}, 422,
     ["'package' must be a package ID string"]),
    ("task-sequences/PS100021", {"name": "ts", "steps": [{**STEP, "package": 11}]}, 422,
     ["'package' must be a package ID string"]),
    ("deployments/PS120002", {"task_sequence": TASK_SEQUENCE, "option": "Download whenever"}, 422,
     ["unknown deployment option 'Download whenever'", "Download all content locally before starting task "
      "sequence", "Download content locally when needed by the running task sequence",
      "Access content directly from a distribution point"]),
    ("deployments/PS120002", {"task_sequence": "PS1FFFFF"}, 422, ["task sequence PS1FFFFF, which is not defined"]),
    ("deployments/PS120002", {}, 400, ["missing field 'task_sequence'"]),
    ("deployments/PS120002", {"task_sequence": TASK_SEQUENCE, "purpose": "Sometimes"}, 422, ["'Sometimes'"]),
    ("deployments/PS120002", {"task_sequence": TASK_SEQUENCE, "allow_internet": "yes"}, 400,
     ["'allow_internet' must be true or false"]),
    ("cloud-sources/nimbus", {"serve_content": False}, 404, ["no cloud management gateway named 'nimbus'"]),
    ("cloud-sources/dp", {"serve_content": "no"}, 400, ["'serve_content' must be true or false"]),
])
def test_admin_definitions_are_refused_with_the_reason(stocked_site: TestClient, path: str, body: Any,
                                                       status: int, words: list[str]) -> None:
    before = stocked_site.get("/_harness/state").json()
    response = send_json(stocked_site, "PUT", f"{ADMIN}/{path}", body)
    assert_refused(response, status, *words)
    assert stocked_site.get("/_harness/state").json() == before


@pytest.mark.parametrize(("path", "body", "status", "words"), [
    (f"packages/{PACKAGE}/distribute", {}, 400, ["missing field 'to'"]),
    (f"packages/{PACKAGE}/distribute", {"to": "dp"}, 400, ["'to' must be a non-empty list"]),
    (f"packages/{PACKAGE}/distribute", {"to": []}, 400, ["'to' must be a non-empty list"]),
    (f"packages/{PACKAGE}/distribute", {"to": ["nimbus"]}, 400, ["unknown content source(s) nimbus", "has dp"]),
    ("packages/PS1FFFFF/distribute", {"to": ["dp"]}, 404, ["package PS1FFFFF is not defined on site PS1"]),
    ("registration-tokens", {}, 400, ["missing field 'client'"]),
    ("registration-tokens", b"client=CLIENT01", 400, ["not valid JSON"]),
])
def test_admin_actions_are_refused_with_the_reason(stocked_site: TestClient, path: str, body: Any,
                                                   status: int, words: list[str]) -> None:
    response = send_json(stocked_site, "POST", f"{ADMIN}/{path}", body)
    assert_refused(response, status, *words)


def send_json(client: TestClient, method: str, path: str, body: Any) -> Any:
    """`body` as JSON, or as it is when it is bytes (not JSON, or JSON that json.dumps cannot write)."""
    return client.request(method, path, **({"content": body} if isinstance(body, bytes) else {"json": body}))


# -- control API --------------------------------------------------------------------------------------


@pytest.mark.parametrize("since", ["abc", "-1", "1.5", "²", "1" * 5000])
def test_journal_needs_a_sequence_number(site: TestClient, since: str) -> None:
    assert site.get("/_harness/journal?since=3").status_code == 200
    assert_refused(site.get("/_harness/journal", params={"since": since}), 400, "'since' must be a journal sequence")


# -- storage the site cannot reach ----------------------------------------------------------------------


def test_distributing_to_a_cmg_whose_storage_is_down_is_a_clear_503_soon(site_with_cmg: TestClient) -> None:
    assert site_with_cmg.put(f"{ADMIN}/packages/{PACKAGE}", json={"name": "p", "size": "1 MB"}).status_code == 200
    started = time.monotonic()
    response = site_with_cmg.post(f"{ADMIN}/packages/{PACKAGE}/distribute", json={"to": ["cmg"]})
    assert_refused(response, 503, "storage account contosocmgcontent did not answer", f"store package {PACKAGE}")
    assert time.monotonic() - started < 10
    assert site_with_cmg.get("/_harness/state").json()["packages"][PACKAGE]["sources"] == []


def test_reset_with_storage_down_is_a_clear_503_soon(site_with_cmg: TestClient) -> None:
    started = time.monotonic()
    assert_refused(site_with_cmg.post("/_harness/reset"), 503, "storage account contosocmgcontent did not answer")
    assert time.monotonic() - started < 10

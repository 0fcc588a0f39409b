"""The site's management point answers bad client messages (CCM_POST), registrations and tokens with a 4xx that
names the problem; tests/contract/test_site_bad_input.py covers its GET endpoints, DP and admin API."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from harness.protocol.location import ContentLocationRequest, build_location_request
from harness.protocol.messaging import BOUNDARY, CONTENT_TYPE, CcmMessage, decode_reply, encode_message
from harness.protocol.policy import build_request_assignments
from harness.protocol.registration import parse_registration_reply
from tests.contract.refusals import assert_refused
from tests.contract.site_requests import PACKAGE, SITE_CODE, MakeToken

MESSAGE_HEADER = "<Msg><ID>{1}</ID><TargetEndpoint>MP_LocationManager</TargetEndpoint></Msg>".encode("utf-16")


def multipart(*parts: bytes, boundary: str = BOUNDARY) -> bytes:
    dash = f"--{boundary}".encode()
    return b"".join(dash + b"\r\ncontent-type: application/octet-stream\r\n\r\n" + part + b"\r\n"
                    for part in parts) + dash + b"--\r\n"


def ccm_post(site: TestClient, body: bytes, content_type: str = CONTENT_TYPE, *, path: str = "/ccm_system/request",
             token: str | None = None) -> Any:
    headers = {"content-type": content_type, **({"authorization": f"Bearer {token}"} if token else {})}
    return site.request("CCM_POST", path, content=body, headers=headers)


def message(target: str, body: str) -> bytes:
    return encode_message(CcmMessage(target, body))[0]


def location_request(package_id: str) -> bytes:
    return message("MP_LocationManager", build_location_request(ContentLocationRequest(
        package_id, 1, SITE_CODE, use_azure=False, use_internet_dp=False)))


# -- client messaging (CCM_POST) ---------------------------------------------------------------------


def test_a_well_formed_location_request_is_answered(stocked_site: TestClient) -> None:
    response = ccm_post(stocked_site, location_request(PACKAGE))
    assert response.status_code == 200
    assert PACKAGE in decode_reply(response.content, response.headers["content-type"])


@pytest.mark.parametrize(("body", "content_type", "words"), [
    (b"<ContentLocationRequest/>", "text/xml", ["not multipart/mixed"]),
    (location_request(PACKAGE), "multipart/mixed", ["has no boundary"]),
    (multipart(MESSAGE_HEADER), CONTENT_TYPE, ["expected 2 parts", "found 1"]),
    (multipart(MESSAGE_HEADER, b"this is not zlib"), CONTENT_TYPE, ["not valid zlib"]),
    (multipart(MESSAGE_HEADER, zlib.compress("<a/>\0".encode("utf-16-le"))[:-3]), CONTENT_TYPE, ["truncated"]),
    (multipart(MESSAGE_HEADER, zlib.compress(b"\0" * (5 * 2**20))), CONTENT_TYPE, ["decompresses to more than"]),
    (multipart(MESSAGE_HEADER, zlib.compress(b"<ContentLocationRequest/>")), CONTENT_TYPE, ["not UTF-16LE"]),
    (multipart(b"<Msg><TargetEndpoint>MP_LocationManager</TargetEndpoint></Msg>",
               zlib.compress("<a/>\0".encode("utf-16-le"))), CONTENT_TYPE, ["header is not UTF-16 XML"]),
    (multipart("<Envelope/>".encode("utf-16"), zlib.compress("<a/>\0".encode("utf-16-le"))), CONTENT_TYPE,
     ["not a <Msg>"]),
    (multipart("<Msg><ID>{1}</ID></Msg>".encode("utf-16"), zlib.compress("<a/>\0".encode("utf-16-le"))),
     CONTENT_TYPE, ["no <TargetEndpoint>"]),
], ids=["not-multipart", "no-boundary", "one-part", "broken-zlib", "truncated-zlib", "zip-bomb",
        "payload-utf8", "header-utf8", "header-not-msg", "no-target-endpoint"])
def test_malformed_messages_are_refused(site: TestClient, body: bytes, content_type: str, words: list[str]) -> None:
    assert_refused(ccm_post(site, body, content_type), 400, "CCM message", *words)


def test_message_to_an_unknown_endpoint_is_refused(site: TestClient) -> None:
    assert_refused(ccm_post(site, message("MP_Teleporter", "<Beam/>")), 400, "'MP_Teleporter'",
                   "ContentLocationRequest", "ClientRegistrationRequest")


@pytest.mark.parametrize(("target", "body", "words"), [
    ("MP_LocationManager", "<ContentLocationRequest><Package ID=", ["ContentLocationRequest", "not well-formed"]),
    ("MP_LocationManager", f'<ContentLocationRequest><AssignedSite SiteCode="{SITE_CODE}"/></ContentLocationRequest>',
     ["missing <Package>"]),
    ("MP_LocationManager", '<ContentLocationRequest><Package ID="PS100011" Version="one"/><AssignedSite SiteCode='
                           '"PS1"/><ClientLocationInfo/></ContentLocationRequest>', ["Version", "'one'"]),
    ("MP_LocationManager", "<SiteInformationRequest", ["SiteInformationRequest", "not well-formed"]),
    ("MP_PolicyManager", "<RequestAssignments><Identification/></RequestAssignments>", ["missing <ClientID>"]),
    ("MP_PolicyManager", "policy please", ["RequestAssignments", "not well-formed"]),
], ids=["location-not-xml", "location-no-package", "location-bad-version", "site-info-not-xml",
        "assignments-no-client", "assignments-not-xml"])
def test_malformed_requests_inside_a_message_are_refused(site: TestClient, target: str, body: str,
                                                         words: list[str]) -> None:
    assert_refused(ccm_post(site, message(target, body)), 400, *words)


def test_location_of_an_unknown_package_is_404_naming_it(stocked_site: TestClient) -> None:
    assert_refused(ccm_post(stocked_site, location_request("PS1FFFFF")), 404, "PS1FFFFF", "not defined")


def test_policy_assignments_for_a_real_request_are_answered(stocked_site: TestClient) -> None:
    response = ccm_post(stocked_site, message("MP_PolicyManager", build_request_assignments("GUID:1")))
    assert response.status_code == 200


# -- client registration (MP_ClientRegistration) -----------------------------------------------------


@pytest.mark.parametrize("path", ["/ccm_system/request", "/ccm_system_tokenauth/request"])
def test_a_signed_registration_gets_an_smsid_that_stays_with_the_client(
        site: TestClient, make_token: MakeToken, registration_body: Callable[..., str], path: str) -> None:
    def register(name: str) -> str:
        response = ccm_post(site, message("MP_ClientRegistration", registration_body(name)), path=path,
                            token=make_token("ccm", name) if "tokenauth" in path else None)
        assert response.status_code == 200, response.text
        return parse_registration_reply(decode_reply(response.content, response.headers["content-type"])).smsid

    first = register("CLIENT01")
    assert first.startswith("GUID:") and register("CLIENT01") == first != register("CLIENT02")
    assert site.get("/_harness/state").json()["registered_clients"] == {"CLIENT01": first,
                                                                        "CLIENT02": register("CLIENT02")}
    assert site.post("/_harness/reset").status_code == 200
    assert site.get("/_harness/state").json()["registered_clients"] == {}


@pytest.mark.parametrize(("body", "words"), [
    ("<ClientRegistrationRequest><Data", ["ClientRegistrationRequest", "not well-formed"]),
    ("<ClientRegistrationRequest/>", ["ClientRegistrationRequest", "missing <Data>"]),
    ("<RegisterMe/>", ["root element is <RegisterMe>", "expected <ClientRegistrationRequest>"]),
], ids=["not-xml", "no-data", "wrong-root"])
def test_malformed_registrations_are_refused(site: TestClient, body: str, words: list[str]) -> None:
    assert_refused(ccm_post(site, message("MP_ClientRegistration", body)), 400, *words)
    assert site.get("/_harness/state").json()["registered_clients"] == {}


@pytest.mark.parametrize(("old", "new", "words"), [
    ('<Property Name="Netbios Name" Value="CLIENT01" />', "", ["missing property 'Netbios Name'"]),
    ('Name="InternetFlag" Value="0"', 'Name="InternetFlag" Value="2"', ["InternetFlag must be", "'2'"]),
    ('Value="CLIENT01"', 'Value="CLIENT02"', ["signature does not match <Data>"]),
    ("<SignatureValue>", "<SignatureValue>XY", ["<SignatureValue> is not hexadecimal"]),
    ('KeyType="1">', 'KeyType="1">0', ["<Signing> is not a hex-encoded DER X.509 certificate"]),
    ('HashAlgorithm="1.2.840.113549.1.1.11"', 'HashAlgorithm="1.3.14.3.2.26"', ["unsupported <Data HashAlgorithm>"]),
], ids=["no-netbios-name", "bad-internet-flag", "tampered", "signature-not-hex", "certificate-not-der", "sha1"])
def test_registrations_of_a_bad_shape_or_signature_are_refused(site: TestClient, registration_body: Callable[..., str],
                                                               old: str, new: str, words: list[str]) -> None:
    body = registration_body()
    assert old in body
    assert_refused(ccm_post(site, message("MP_ClientRegistration", body.replace(old, new))), 400,
                   "ClientRegistrationRequest", *words)
    assert site.get("/_harness/state").json()["registered_clients"] == {}


# -- tokens -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("how", "words"), [
    ("none", ["ccm token is required"]),
    ("not-a-token", ["ccm token rejected", "malformed"]),
    ("forged", ["ccm token rejected", "bad signature"]),
    ("expired", ["ccm token rejected", "expired"]),
    ("not-yet-valid", ["ccm token rejected", "not yet valid"]),
    ("site-token", ["ccm token rejected", "wrong kind"]),
])
def test_token_messaging_refuses_bad_tokens(stocked_site: TestClient, make_token: MakeToken, how: str,
                                            words: list[str]) -> None:
    token = bad_token(make_token, "ccm", how)
    response = ccm_post(stocked_site, location_request(PACKAGE), path="/ccm_system_tokenauth/request", token=token)
    assert_refused(response, 401, *words)


def test_token_messaging_accepts_a_good_ccm_token(stocked_site: TestClient, make_token: MakeToken) -> None:
    response = ccm_post(stocked_site, location_request(PACKAGE), path="/ccm_system_tokenauth/request",
                        token=make_token("ccm"))
    assert response.status_code == 200


def bad_token(make_token: MakeToken, kind: str, how: str) -> str | None:
    other = "site" if kind == "ccm" else "ccm"
    return {"none": None, "not-a-token": "let-me-in",
            "forged": make_token(kind, key=b"not the site's key"),
            "expired": make_token(kind, valid_from=timedelta(hours=-10), valid_for=timedelta(hours=1)),
            "not-yet-valid": make_token(kind, valid_from=timedelta(days=30)),
            "site-token": make_token(other), "ccm-token": make_token(other)}[how]


@pytest.mark.parametrize(("how", "words"), [
    ("none", ["site token is required"]),
    ("forged", ["site token rejected", "bad signature"]),
    ("expired", ["site token rejected", "expired"]),
    ("ccm-token", ["site token rejected", "wrong kind"]),
])
def test_sts_refuses_anything_but_a_site_token(site: TestClient, make_token: MakeToken, how: str,
                                               words: list[str]) -> None:
    token = bad_token(make_token, "site", how)
    response = site.post("/CCM_STS", headers={"authorization": f"Bearer {token}"} if token else {})
    assert_refused(response, 401, *words)


def test_sts_exchanges_a_site_token(site: TestClient, make_token: MakeToken) -> None:
    assert site.post("/CCM_STS", headers={"authorization": f"Bearer {make_token('site')}"}).status_code == 200

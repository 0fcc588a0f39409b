"""The site's distribution point beyond its files and folder pages: WebDAV PROPFIND,
signatures and the token vdirs, as clients and DP tools see them, and the verbs it refuses, each with a 4xx naming
the problem; tests/contract/test_site_dp.py covers files, byte ranges and folder pages."""

from __future__ import annotations

import io
import tarfile
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring
from starlette.testclient import TestClient

from harness.protocol.location import ContentLocationRequest, build_location_request, parse_location_reply
from harness.protocol.messaging import CONTENT_TYPE, CcmMessage, decode_reply, encode_message
from tests.contract.dp_requests import DP, IDLE, OS, PLAIN, SIG, size_of
from tests.contract.refusals import assert_refused
from tests.contract.site_requests import MakeToken

TOKEN_DP = "/CCMTOKENAUTH_SMS_DP_SMSPKG$"
TOKEN_SIG = "/CCMTOKENAUTH_SMS_DP_SMSSIG$"
D = "{DAV:}"


# -- WebDAV PROPFIND -------------------------------------------------------------------------------------------


def propfind(client: TestClient, path: str, depth: str | None = None, **headers: str) -> Any:
    return client.request("PROPFIND", path, headers={**headers, **({"depth": depth} if depth is not None else {})})


def resources(response: Any) -> list[tuple[str, bool, int]]:
    """(href, is a collection, getcontentlength) of each response of a 207."""
    assert response.status_code == 207, response.text
    found = []
    for item in fromstring(response.text).findall(f"{D}response"):
        prop = item.find(f"{D}propstat/{D}prop")
        assert prop is not None
        parsedate_to_datetime(prop.findtext(f"{D}getlastmodified") or "")
        found.append((item.findtext(f"{D}href") or "", prop.find(f"{D}resourcetype/{D}collection") is not None,
                      int(prop.findtext(f"{D}getcontentlength") or "-1")))
    return found


@pytest.mark.parametrize("depth", [None, "1"], ids=["absent", "1"])
def test_propfind_lists_the_package_and_its_files(dp: TestClient, depth: str | None) -> None:
    assert resources(propfind(dp, f"{DP}/{OS}", depth)) == [
        (f"{DP}/{OS}", True, 0), (f"{DP}/{OS}/sources/install.esd", False, size_of(dp, OS))]


@pytest.mark.parametrize(("path", "depth", "expected"), [
    (f"{DP}/{OS}", "0", [(f"{DP}/{OS}", True, 0)]),
    (f"/sms_dp_smspkg$/{OS.lower()}/", "1", [(f"{DP}/{OS.lower()}/", True, 0),
                                              (f"{DP}/{OS.lower()}/sources/install.esd", False, -1)]),
    (f"{DP}/{OS}/sources", "1", [(f"{DP}/{OS}/sources", True, 0), (f"{DP}/{OS}/sources/install.esd", False, -1)]),
    (f"{DP}/{OS}/sources/install.esd", "1", [(f"{DP}/{OS}/sources/install.esd", False, -1)]),
    (f"/NOCERT_SMS_DP_SMSPKG$/{PLAIN}.2", "1", [("/NOCERT_SMS_DP_SMSPKG$/PS100012.2", True, 0),
                                                 ("/NOCERT_SMS_DP_SMSPKG$/PS100012.2/content.bin", False, -2)]),
    (f"{DP}/Datalib", "1", [(f"{DP}/Datalib", True, 0), (f"{DP}/Datalib/{OS}.1/", True, 0),
                            (f"{DP}/Datalib/{PLAIN}.2/", True, 0)]),
    (f"{DP}/Datalib", "0", [(f"{DP}/Datalib", True, 0)]),
], ids=["depth-0", "any-case-with-slash", "subfolder", "file", "nocert-library-name", "datalib", "datalib-depth-0"])
def test_propfind_answers_for_what_it_names(dp: TestClient, path: str, depth: str,
                                            expected: list[tuple[str, bool, int]]) -> None:
    sizes = {-1: size_of(dp, OS), -2: size_of(dp, PLAIN)}
    assert resources(propfind(dp, path, depth)) == [(h, c, sizes.get(n, n)) for h, c, n in expected]


@pytest.mark.parametrize(("path", "depth", "status", "words"), [
    (f"{DP}/{OS}", "infinity", 403, ["Depth: infinity is refused"]),
    (f"{DP}/Datalib", "Infinity", 403, ["allowInfinitePropfindDepth"]),
    (f"{DP}/{OS}", "2", 400, ["Depth must be 0, 1 or infinity", "'2'"]),
    (f"{DP}/PS1FFFFF", "1", 404, ["package PS1FFFFF is not on distribution point"]),
    (f"{DP}/{IDLE}", "1", 404, [f"package {IDLE} is not on"]),
    (f"{DP}/AbCdEfGh/", "1", 404, ["package AbCdEfGh is not on"]),
    (f"{DP}/{OS}/setup.exe", "1", 404, [f"package {OS} has no file 'setup.exe'"]),
    (f"{DP}/{OS}/%2e%2e/%2e%2e", "1", 404, ["has no file '../..'"]),
], ids=["infinity", "infinity-datalib", "depth-2", "unknown", "not-distributed", "random8", "no-such-file",
        "traversal"])
def test_propfind_refusals_name_the_problem(dp: TestClient, path: str, depth: str, status: int,
                                            words: list[str]) -> None:
    assert_refused(propfind(dp, path, depth), status, *words)


# -- signatures --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "member"), [
    (f"{SIG}/{OS}.1.tar", f"{OS}.1"), (f"/sms_dp_smssig$/{OS.lower()}.1.TAR", f"{OS}.1"),
    (f"{SIG}/{PLAIN}.2.tar", f"{PLAIN}.2"),
])
def test_signatures_are_a_small_deterministic_tar(dp: TestClient, path: str, member: str) -> None:
    response = dp.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == dp.get(path).content
    with tarfile.open(fileobj=io.BytesIO(response.content)) as tar:
        assert tar.getnames() == [member]


def test_the_signature_url_of_a_location_reply_answers(dp: TestClient) -> None:
    body, content_type = encode_message(CcmMessage("MP_LocationManager", build_location_request(
        ContentLocationRequest(PLAIN, 2, "PS1", use_azure=False, use_internet_dp=False))))
    reply = dp.request("CCM_POST", "/ccm_system/request", content=body, headers={"content-type": content_type})
    (record,) = parse_location_reply(decode_reply(reply.content, reply.headers.get("content-type", CONTENT_TYPE))
                                     ).records
    assert record.signature_url.endswith(f"{SIG}/{PLAIN}.2.tar")
    assert dp.get(SIG + record.signature_url.split(SIG, 1)[1]).status_code == 200


@pytest.mark.parametrize(("name", "words"), [
    (f"{OS}.2.tar", [f"package {OS}.2 is not on"]),
    (f"{IDLE}.1.tar", [f"package {IDLE}.1 is not on"]),
    ("PS1FFFFF.1.tar", ["package PS1FFFFF.1 is not on"]),
    (f"{OS}.tar", [f"no signature '{OS}.tar'", "<PackageID>.<version>.tar"]),
    (f"{OS}.1.zip", [f"no signature '{OS}.1.zip'"]),
    (".tar", ["no signature '.tar'"]),
    ("%2e%2e.tar", ["package .. is not on"]),
])
def test_unknown_signatures_are_404(dp: TestClient, name: str, words: list[str]) -> None:
    assert_refused(dp.get(f"{SIG}/{name}"), 404, *words)


# -- token vdirs -------------------------------------------------------------------------------------------


def bad_token(make_token: MakeToken, how: str) -> str | None:
    return {"none": None, "not-a-token": "let-me-in", "forged": make_token("ccm", key=b"not the site's key"),
            "expired": make_token("ccm", valid_from=timedelta(hours=-10), valid_for=timedelta(hours=1)),
            "site-token": make_token("site"), "content-token": make_token("content")}[how]


@pytest.mark.parametrize("path", [
    f"{TOKEN_DP}/{OS}/sources/install.esd", f"{TOKEN_DP}/{OS}/", f"{TOKEN_DP}/AbCdEfGh", f"{TOKEN_DP}/Datalib",
    f"{TOKEN_SIG}/{OS}.1.tar", f"/ccmtokenauth_sms_dp_smspkg$/{OS}/",
], ids=["file", "listing", "random8", "datalib", "signature", "any-case"])
@pytest.mark.parametrize(("how", "words"), [
    ("none", ["a ccm token is required"]),
    ("not-a-token", ["ccm token rejected", "malformed"]),
    ("forged", ["ccm token rejected", "bad signature"]),
    ("expired", ["ccm token rejected", "expired"]),
    ("site-token", ["ccm token rejected", "wrong kind"]),
    ("content-token", ["ccm token rejected", "wrong kind"]),
])
def test_token_vdirs_refuse_anything_but_a_ccm_token(dp: TestClient, make_token: MakeToken, path: str, how: str,
                                                    words: list[str]) -> None:
    token = bad_token(make_token, how)
    response = dp.get(path, headers={"authorization": f"Bearer {token}"} if token else {})
    assert_refused(response, 401, *words, "CCMTOKENAUTH_SMS_DP_SMS")


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", f"{TOKEN_DP}/{OS}/sources/install.esd", 200), ("GET", f"{TOKEN_DP}/{OS}/", 200),
    ("GET", f"{TOKEN_DP}/Datalib", 200), ("PROPFIND", f"{TOKEN_DP}/{OS}", 207), ("GET", f"{TOKEN_SIG}/{OS}.1.tar", 200),
    ("GET", f"{TOKEN_DP}/AbCdEfGh", 404),
])
def test_token_vdirs_serve_the_same_content_with_a_ccm_token(dp: TestClient, make_token: MakeToken, method: str,
                                                             path: str, status: int) -> None:
    response = dp.request(method, path, headers={"authorization": f"Bearer {make_token('ccm')}"})
    assert response.status_code == status, response.text


# -- verbs ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", f"{DP}/{OS}/sources/install.esd", "PROPFIND"),
    ("DELETE", f"{DP}/{OS}", "GET"),
    ("MKCOL", f"{DP}/{OS}/new/", "PROPFIND"),
    ("POST", f"{DP}/Datalib", "GET"),
    ("PROPPATCH", f"/sms_dp_smspkg$/{OS}", "PROPFIND"),
    ("LOCK", f"/NOCERT_SMS_DP_SMSPKG$/{OS}/content.bin", "GET"),
    ("PUT", f"{TOKEN_DP}/{OS}/x", "GET"),
    ("PROPFIND", f"{SIG}/{OS}.1.tar", "GET"),
    ("DELETE", f"{TOKEN_SIG}/{OS}.1.tar", "GET"),
])
def test_wrong_verbs_are_405_naming_the_allowed_ones(dp: TestClient, method: str, path: str, allowed: str) -> None:
    response = dp.request(method, path)
    assert_refused(response, 405, f"{method} is not allowed on", allowed)
    assert allowed in response.headers["allow"]

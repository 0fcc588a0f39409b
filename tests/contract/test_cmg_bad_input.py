"""The CMG refuses bad credentials before forwarding anything, and bad content requests with a clear 4xx.

Its management point and storage account are closed ports: a 401/403/404 here proves the gateway
decided on its own, and `forwarded` in its state proves nothing went upstream.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from harness.clock.model_clock import ModelClock
from harness.emulators.cmg.app import FORWARDED
from harness.protocol.content_url import ContentUrl, build_content_url
from tests.contract.refusals import assert_refused

MakeToken = Callable[..., str]
CMG_ID = "72186325152220500"
SERVER_AUTH = f"/CCM_Proxy_ServerAuth/{CMG_ID}"
MUTUAL_AUTH = f"/CCM_Proxy_MutualAuth/{CMG_ID}"
CONTENT = "/downloadrestservice.svc/getcontentxmlsecure"
PACKAGE = "PS100011"



def counters(cmg: TestClient) -> dict[str, int]:
    state = cmg.get("/_harness/state").json()
    return {name: state[name] for name in ("forwarded", "refused", "manifests")}


def bearer(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token is not None else {}


# -- forwarding ---------------------------------------------------------------------------------------


def test_a_good_token_is_forwarded_and_a_closed_management_point_is_a_clear_502(
        cmg: TestClient, make_token: MakeToken) -> None:
    """The positive control: with the right token the gateway does go upstream (and finds nobody)."""
    response = cmg.request("CCM_POST", f"{SERVER_AUTH}/ccm_system_tokenauth/request", headers=bearer(make_token("ccm")))
    assert_refused(response, 502, "the management point did not answer through the gateway")


def test_a_header_that_is_not_ascii_is_forwarded_as_sent(cmg: TestClient, make_token: MakeToken) -> None:
    headers = {b"authorization": f"Bearer {make_token('ccm')}".encode(), b"x-ccm-client": b"CL\xc9ENT"}
    response = cmg.request("CCM_POST", f"{SERVER_AUTH}/ccm_system_tokenauth/request", headers=headers)
    assert_refused(response, 502, "the management point did not answer")


def forwarded_cases() -> list[Any]:
    cases = []
    for endpoint, kind in FORWARDED.items():
        wrong = "site" if kind == "ccm" else "ccm"
        for how in ("none", "not-a-token", "forged", "expired", wrong):
            cases.append(pytest.param(endpoint, kind, how, id=f"{endpoint}-{how}"))
    return cases


@pytest.mark.parametrize(("endpoint", "kind", "how"), forwarded_cases())
def test_bad_tokens_are_401_and_never_forwarded(cmg: TestClient, make_token: MakeToken, endpoint: str, kind: str,
                                               how: str) -> None:
    token = make_token(how) if how in ("ccm", "site") else {
        "none": None, "not-a-token": "open sesame",
        "forged": make_token(kind, key=b"a key the gateway does not hold"),
        "expired": make_token(kind, valid_from=timedelta(hours=-20), valid_for=timedelta(hours=8))}[how]
    method = "CCM_POST" if endpoint.endswith("request") else ("POST" if endpoint == "CCM_STS" else "GET")
    response = cmg.request(method, f"{SERVER_AUTH}/{endpoint}", headers=bearer(token))
    words = {"none": [f"a {kind} token is required"], "not-a-token": ["malformed"], "forged": ["bad signature"],
             "expired": ["expired"]}.get(how, ["wrong kind"])
    assert_refused(response, 401, *words, "not forwarded")
    assert counters(cmg) == {"forwarded": 0, "refused": 1, "manifests": 0}


@pytest.mark.parametrize(("path", "words"), [
    ("/CCM_Proxy_ServerAuth/12345/ccm_system_tokenauth/request", ["no management point with ID 12345"]),
    ("/CCM_Proxy_ServerAuth//CCM_STS", ["no endpoint at /CCM_Proxy_ServerAuth//CCM_STS"]),
    (f"{SERVER_AUTH}/ccm_system/request", ["does not forward 'ccm_system/request'"]),
    (f"{SERVER_AUTH}/SMS_MP/.sms_xyz", ["does not forward 'SMS_MP/.sms_xyz'"]),
    (f"{SERVER_AUTH}/_harness/reset", ["does not forward '_harness/reset'"]),
    (f"{SERVER_AUTH}/%2e%2e/%2e%2e/_harness/reset", ["does not forward '../../_harness/reset'"]),
    (f"{SERVER_AUTH}/", ["does not forward ''"]),
    ("/CCM_Proxy_ServerAuth", ["no endpoint at /CCM_Proxy_ServerAuth"]),
    ("/ccm_system_tokenauth/request", ["no endpoint at /ccm_system_tokenauth/request"]),
])
def test_unknown_gateway_paths_are_404_and_never_forwarded(cmg: TestClient, make_token: MakeToken, path: str,
                                                          words: list[str]) -> None:
    assert_refused(cmg.post(path, headers=bearer(make_token("ccm"))), 404, *words)
    assert counters(cmg)["forwarded"] == 0


@pytest.mark.parametrize("endpoint", [*FORWARDED, "SMS_DP_SMSPKG$/PS100011"])
def test_mutual_auth_without_a_certificate_is_403_even_with_a_token(cmg: TestClient, make_token: MakeToken,
                                                                   endpoint: str) -> None:
    response = cmg.post(f"{MUTUAL_AUTH}/{endpoint}", headers=bearer(make_token(FORWARDED.get(endpoint, "ccm"))))
    assert_refused(response, 403, "PKI client authentication certificate", "CCM_Proxy_ServerAuth")
    assert counters(cmg) == {"forwarded": 0, "refused": 1, "manifests": 0}


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", f"{SERVER_AUTH}/CCM_STS", "POST"),
    ("DELETE", f"{MUTUAL_AUTH}/CCM_STS", "CCM_POST"),
    ("PROPFIND", f"{SERVER_AUTH}/SMS_MP/.sms_pol", "GET"),
    ("POST", CONTENT, "GET"),
    ("DELETE", CONTENT, "GET"),
    ("PUT", "/_harness/state", "GET"),
])
def test_wrong_verbs_are_405_naming_the_allowed_ones(cmg: TestClient, method: str, path: str, allowed: str) -> None:
    assert_refused(cmg.request(method, path), 405, f"{method} is not allowed on {path}", allowed)
    assert counters(cmg)["forwarded"] == 0


# -- content manifest ---------------------------------------------------------------------------------


def content_query(clock: ModelClock, *, pid: str = PACKAGE, start: datetime | None = None,
                  end: datetime | None = None) -> dict[str, str]:
    now = clock.now()
    url = build_content_url(ContentUrl(base="https://cmg.contoso.example", package_id=pid, content_id=pid,
                                       tid="GUID:5E1BA07B-6C5A-4C38-9E4A-3B0F2E0E9D11", issuer="CM01",
                                       start=start or now - timedelta(minutes=5), end=end or now + timedelta(hours=8)))
    return dict(pair.split("=", 1) for pair in url.split("?", 1)[1].split("&"))


@pytest.mark.parametrize("missing", ["pid", "cid", "tid", "iss", "alg", "st", "et"])
def test_each_missing_content_parameter_is_named(cmg: TestClient, clock: ModelClock, make_token: MakeToken,
                                                 missing: str) -> None:
    params = {name: value for name, value in content_query(clock).items() if name != missing}
    response = cmg.get(CONTENT, params=params, headers=bearer(make_token("content", claims=(("pid", PACKAGE),))))
    assert_refused(response, 400, f"missing parameter {missing}")


@pytest.mark.parametrize(("name", "value", "words"), [
    ("pid", "", ["missing parameter pid"]),
    ("tid", "5E1BA07B", ["tid must be GUID:<guid>", "'5E1BA07B'"]),
    ("st", "yesterday", ["parameter st is not a UTC time", "'yesterday'"]),
    ("et", "2026-11-02 08:00:00", ["parameter et is not a UTC time"]),
    ("st", "2026-13-45T99:00:00", ["parameter st is not a UTC time"]),
    ("et", "2000-01-01T00:00:00", ["is before st"]),
])
def test_invalid_content_parameters_are_named(cmg: TestClient, clock: ModelClock, make_token: MakeToken,
                                              name: str, value: str, words: list[str]) -> None:
    params = {**content_query(clock), name: value}
    response = cmg.get(CONTENT, params=params, headers=bearer(make_token("content", claims=(("pid", PACKAGE),))))
    assert_refused(response, 400, *words)


@pytest.mark.parametrize(("how", "status", "words"), [
    ("none", 401, ["content access token is required"]),
    ("not-a-token", 401, ["content access token rejected", "malformed"]),
    ("forged", 401, ["content access token rejected", "bad signature"]),
    ("expired", 401, ["content access token rejected", "expired"]),
    ("ccm", 401, ["content access token rejected", "wrong kind"]),
    ("other-package", 403, ["content access token is for PS100099, not PS100011"]),
])
def test_content_tokens_are_checked(cmg: TestClient, clock: ModelClock, make_token: MakeToken, how: str,
                                    status: int, words: list[str]) -> None:
    claims = (("pid", PACKAGE),)
    token = {"none": None, "not-a-token": "abc.def.ghi",
             "forged": make_token("content", claims=claims, key=b"a key the gateway does not hold"),
             "expired": make_token("content", claims=claims, valid_from=timedelta(days=-2),
                                   valid_for=timedelta(days=1)),
             "ccm": make_token("ccm"),
             "other-package": make_token("content", claims=(("pid", "PS100099"),))}[how]
    assert_refused(cmg.get(CONTENT, params=content_query(clock), headers=bearer(token)), status, *words)
    assert counters(cmg)["manifests"] == 0


@pytest.mark.parametrize(("start", "end"), [
    (timedelta(hours=-10), timedelta(hours=-2)),
    (timedelta(hours=2), timedelta(hours=10)),
], ids=["in-the-past", "in-the-future"])
def test_a_content_url_outside_its_window_is_403(cmg: TestClient, clock: ModelClock, make_token: MakeToken,
                                                 start: timedelta, end: timedelta) -> None:
    now = clock.now()
    params = content_query(clock, start=now + start, end=now + end)
    response = cmg.get(CONTENT, params=params, headers=bearer(make_token("content", claims=(("pid", PACKAGE),))))
    assert_refused(response, 403, "content URL valid from", "it is now")


def test_a_good_content_request_with_storage_down_is_a_clear_503_soon(cmg: TestClient, clock: ModelClock,
                                                                      make_token: MakeToken) -> None:
    started = time.monotonic()
    response = cmg.get(CONTENT, params=content_query(clock),
                       headers=bearer(make_token("content", claims=(("pid", PACKAGE),))))
    assert_refused(response, 503, "storage account contosocmgcontent did not answer", f"list content {PACKAGE}")
    assert time.monotonic() - started < 10
    assert counters(cmg)["manifests"] == 0

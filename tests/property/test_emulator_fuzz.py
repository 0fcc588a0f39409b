"""Hypothesis throws generated bad input at every product endpoint of the site and the CMG, and at the JSON
of the site's admin API and the control API: no answer may be a 5xx or take more than a few seconds.

Size of one run: six groups (site messaging, site MP/DP verbs-paths-queries, CMG proxy, CMG content
service, site admin API, journal) of EXAMPLES = 400 generated examples with one request each: 2,400
requests, plus 5 explicit regression examples (about 15 s in all). Every network peer is a closed port,
and no example carries a token that would take a request past the gateway or to storage, so a 502/503
can only be a bug.

The same at the socket level, raw request lines to every running service: test_emulator_fuzz_raw.py.
"""

from __future__ import annotations

import json
import math
import secrets
import socket
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from harness.clock.model_clock import ModelClock
from harness.emulators.cmg.app import FORWARDED
from harness.emulators.cmg.app import create_app as create_cmg
from harness.emulators.site.app import create_app as create_site
from harness.model.units import Scale
from harness.net.tls import TestPKI
from harness.protocol.errors import ProtocolError
from harness.protocol.messaging import BOUNDARY, CONTENT_TYPE, CcmMessage, encode_message
from harness.protocol.tokens import Token, sign_token
from harness.service.configs import CmgServiceConfig, SiteServiceConfig

EXAMPLES = 400
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOWEST_ANSWER_S = 5.0
CMG_ID = "72186325152220500"
PACKAGE = "PS100011"
TOKEN_PACKAGE = "PS1AAAAA"  # the only pid a valid content token names; no generated query asks for it
VERBS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CCM_POST", "PROPFIND", "MKCOL", "BITS_POST"]


def assert_answered_without_server_error(send: Callable[[], Any]) -> None:
    started = time.monotonic()
    response = send()
    elapsed = time.monotonic() - started
    assert response.status_code < 500, f"{response.status_code} {response.text[:300]}"
    assert elapsed < SLOWEST_ANSWER_S, f"answered after {elapsed:.1f} s"


# -- the services -------------------------------------------------------------------------------------


class World:
    def __init__(self, pki: TestPKI, closed_port: int) -> None:
        self.pki, self.closed_port = pki, closed_port
        self.clock = ModelClock.starting_now(Scale(5000))
        self.key = secrets.token_bytes(32)

    def token(self, kind: str, *, key: bytes | None = None, claims: tuple[tuple[str, str], ...] = (),
              valid_from: timedelta = timedelta(hours=-1)) -> str:
        issued = self.clock.now() + valid_from
        return sign_token(Token(kind, "FUZZ01", issued, issued + timedelta(hours=8), claims), key or self.key)

    def site_config(self) -> SiteServiceConfig:
        return SiteServiceConfig.from_json({
            "tls": {"ca": str(self.pki.ca_cert_path)}, "clock": self.clock.to_json(), "key": self.key.hex(),
                "site_code": "PS1", "version": 1910, "mp_fqdn": "cm01.corp.contoso.example", "mp_port": 443,
                "cloud_sources": []})

    def cmg_config(self) -> CmgServiceConfig:
        account = {"name": "contosocmgcontent", "key": "a2V5", "endpoint": f"https://127.0.0.1:{self.closed_port}/x",
                   "public_endpoint": f"https://contosocmgcontent.blob.core.example:{self.closed_port}"}
        return CmgServiceConfig.from_json({"tls": {"ca": str(self.pki.ca_cert_path)}, "clock": self.clock.to_json(),
                "key": self.key.hex(), "cmg_id": CMG_ID, "mp_url": f"https://cm01.corp.contoso.example:{self.closed_port}",
                "hosts": {"cm01.corp.contoso.example": "127.0.0.1"}, "storage": account})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with socket.socket() as closed:  # bound, never listening: connections to it are refused at once
        closed.bind(("127.0.0.1", 0))
        yield World(TestPKI.create(Path(tmp_path_factory.mktemp("pki"))), closed.getsockname()[1])


@pytest.fixture(scope="module")
def site(world: World) -> Iterator[TestClient]:
    """Stocked, so that well-formed parts of the fuzz reach the package, policy and DP code."""
    with TestClient(create_site(world.site_config()), raise_server_exceptions=False) as client:
        client.put(f"/_harness/site/packages/{PACKAGE}", json={"name": "p", "size": "50 MB"}).raise_for_status()
        client.put("/_harness/site/task-sequences/PS100020", json={"name": "ts", "steps": [
            {"name": "s", "action": "Run Command Line", "package": PACKAGE}]}).raise_for_status()
        client.put("/_harness/site/deployments/PS120001", json={"task_sequence": "PS100020"}).raise_for_status()
        client.post(f"/_harness/site/packages/{PACKAGE}/distribute", json={"to": ["dp"]}).raise_for_status()
        yield client


@pytest.fixture(scope="module")
def cmg(world: World) -> Iterator[TestClient]:
    with TestClient(create_cmg(world.cmg_config()), raise_server_exceptions=False,
                    base_url="https://cmg.contoso.example") as client:
        yield client


# -- strategies ---------------------------------------------------------------------------------------

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
XML_FRAGMENTS = ["<", ">", "</", "/>", "=", '"', " ", "ContentLocationRequest", "SiteInformationRequest",
                 "RequestAssignments", "ClientRegistrationRequest", "Data", "Property", "Netbios Name",
                 "Package", "ID", "Version", "AssignedSite", "SiteCode", "ClientLocationInfo",
                 "UseAzure", "Identification", "Machine", "ClientID", "PS1", PACKAGE, "1", "0", "-1", "GUID:",
                 "&amp;", "&bogus;", "<![CDATA[", "]]>", "<!DOCTYPE x [<!ENTITY e 'e'>]>", "<?xml version='1.0'?>",
                 "\ufeff", "\x00", "\ud7ff", "é"]
xmlish = st.one_of(st.text(max_size=200),
                   st.lists(st.sampled_from(XML_FRAGMENTS) | st.text(max_size=4), max_size=40).map("".join))
targets = st.sampled_from(["MP_LocationManager", "MP_PolicyManager", "MP_ClientRegistration", "",
                           "MP_DriverManager"]) | header_text


@st.composite
def zlibish(draw: st.DrawFn, payload: st.SearchStrategy[bytes]) -> bytes:
    data = draw(payload)
    compressed = zlib.compress(data)
    cut = draw(st.integers(0, len(compressed)))
    flip = draw(st.integers(0, max(0, len(compressed) - 1)))
    flipped = compressed[:flip] + bytes([compressed[flip] ^ 0x55]) + compressed[flip + 1:]
    extended = compressed + draw(st.binary(max_size=20))
    return draw(st.sampled_from([compressed, compressed[:cut], data, flipped, extended]))


utf16_payload = xmlish.map(lambda text: (text + "\x00").encode("utf-16-le", "surrogatepass"))
utf16_header = xmlish.map(lambda text: text.encode("utf-16", "surrogatepass"))


def message_header(target: str) -> bytes:
    return f"<Msg><ID>{{1}}</ID><TargetEndpoint>{target}</TargetEndpoint></Msg>".encode("utf-16", "surrogatepass")


def multipart(parts: list[bytes], boundary: str = BOUNDARY) -> bytes:
    dash = f"--{boundary}".encode()
    return b"".join(dash + b"\r\ncontent-type: x\r\n\r\n" + part + b"\r\n" for part in parts) + dash + b"--\r\n"


@st.composite
def well_wrapped(draw: st.DrawFn) -> bytes:
    """A real envelope around a generated request, when the encoder accepts it."""
    try:
        return encode_message(CcmMessage(draw(targets), draw(xmlish)))[0]
    except ProtocolError:
        return b""


ccm_bodies = st.one_of(
    st.binary(max_size=2000),
    st.lists(st.binary(max_size=200), max_size=4).map(multipart),
    st.builds(lambda target, payload: multipart([message_header(target), payload]), targets, zlibish(utf16_payload)),
    st.builds(lambda header, payload: multipart([header, payload]), utf16_header, zlibish(st.binary(max_size=300))),
    well_wrapped(),
    st.builds(lambda body, cut: body[:cut], well_wrapped(), st.integers(0, 2000)),
)
content_types = st.one_of(header_text, st.sampled_from([
    CONTENT_TYPE, "multipart/mixed", "text/xml", 'multipart/mixed; boundary=""',
    f"multipart/mixed; boundary={'x' * 71}", f"MULTIPART/MIXED; BOUNDARY={BOUNDARY}"]))
PATH_SEGMENTS = ["..", "%2e%2e", ".", "%2f", "..%2f..%2fetc%2fpasswd", "etc", "passwd", PACKAGE, "PS1FFFFF",
                 "content.bin", "sources", "install.esd", "SMS_DP_SMSPKG$", "SMS_MP", ".sms_pol", "CCM_STS", "%00",
                 "%ff", "~", "", "Datalib", "%5c", "..%5c", f"{PACKAGE}.1", f"{PACKAGE}.1.tar", ".tar"]
segments = st.lists(st.sampled_from(PATH_SEGMENTS) | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                                                           exclude_characters="/?#%"), max_size=12),
                    max_size=5).map("/".join)
queries = st.one_of(st.just(""), header_text, st.sampled_from(["MPLIST", "mplist", "PS120001-PS100020-6F6BCC28.1_00",
                                                               "PS120001.1_00", "_00", ".1_00", "%ZZ", "a=b&a=c"]))
paths_of_site = st.sampled_from(["/SMS_MP/.sms_aut", "/SMS_MP/.sms_pol", "/CCM_STS", "/ccm_system/request",
                                 "/ccm_system_tokenauth/request", "/ccm_system_windowsauth", "/ccm_system/",
                                 "/SMS_DP_SMSPKG$", f"/SMS_DP_SMSPKG$/{PACKAGE}", "/SMS_DP_SMSPKG$/PS1FFFFF", "",
                                 "/sms_dp_smspkg$/Datalib", f"/NOCERT_SMS_DP_SMSPKG$/{PACKAGE}",
                                 f"/CCMTOKENAUTH_SMS_DP_SMSPKG$/{PACKAGE}", "/SMS_DP_SMSSIG$",
                                 "/CCMTOKENAUTH_SMS_DP_SMSSIG$"])


def auth_headers(world: World, kinds: list[str]) -> st.SearchStrategy[dict[str, str]]:
    """None, garbage, forged, expired, or valid tokens of the kinds given."""
    forged = [f"Bearer {world.token(kind, key=b'forged')}" for kind in ("site", "ccm", "content")]
    expired = [f"Bearer {world.token(kind, valid_from=timedelta(days=-3))}" for kind in ("site", "ccm", "content")]
    valid = [f"Bearer {world.token(kind)}" for kind in kinds]
    values = st.one_of(header_text.map(lambda text: f"Bearer {text}"),
                       st.sampled_from([*forged, *expired, *valid, "Bearer ", "Basic YTpi", "Negotiate TlRMTVNTUAAB"]))
    return st.one_of(st.just({}), values.map(lambda value: {"authorization": value}))


# -- site -----------------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data(), path=st.sampled_from(["/ccm_system/request", "/ccm_system_tokenauth/request"]),
       body=ccm_bodies, content_type=content_types)
def test_site_messaging_survives_any_body(site: TestClient, world: World, data: st.DataObject, path: str,
                                          body: bytes, content_type: str) -> None:
    headers = {"content-type": content_type, **data.draw(auth_headers(world, ["ccm"]))}
    assert_answered_without_server_error(lambda: site.request("CCM_POST", path, content=body, headers=headers))


@FUZZ
@given(data=st.data(), method=st.sampled_from(VERBS), base=paths_of_site, rest=segments, query=queries,
       body=st.binary(max_size=200))
def test_site_endpoints_survive_any_verb_path_and_query(site: TestClient, world: World, data: st.DataObject,
                                                         method: str, base: str, rest: str, query: str,
                                                         body: bytes) -> None:
    url = "/" + f"{base}/{rest}".strip("/")  # never "//…", which a URL parser reads as a host
    headers = data.draw(auth_headers(world, ["ccm", "site"]))
    assert_answered_without_server_error(
        lambda: site.request(method, f"{url}?{query}" if query else url, content=body, headers=headers))


# -- CMG -------------------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data(), method=st.sampled_from(VERBS),
       proxy=st.sampled_from(["/CCM_Proxy_ServerAuth", "/CCM_Proxy_MutualAuth", "/ccm_proxy_serverauth"]),
       cmg_id=st.sampled_from([CMG_ID, "0", "", "%2e%2e"]) | header_text.filter(lambda t: "/" not in t),
       endpoint=st.sampled_from([*FORWARDED, *(e.upper() for e in FORWARDED)]) | segments,
       query=queries, body=st.binary(max_size=300))
def test_cmg_proxy_survives_anything_without_a_valid_token(cmg: TestClient, world: World, data: st.DataObject,
                                                           method: str, proxy: str, cmg_id: str, endpoint: str,
                                                           query: str, body: bytes) -> None:
    # A valid token of the endpoint's own kind would be forwarded (to a closed port, a fair 502): leave those out.
    kind = next((k for e, k in FORWARDED.items() if e.lower() == endpoint.lower()), None)
    headers = data.draw(auth_headers(world, [k for k in ("ccm", "site", "content") if k != kind]))
    url = f"{proxy}/{cmg_id}/{endpoint}" + (f"?{query}" if query else "")
    assert_answered_without_server_error(lambda: cmg.request(method, url, content=body, headers=headers))
    assert cmg.get("/_harness/state").json()["forwarded"] == 0


plausible = {"pid": st.sampled_from([PACKAGE, "PS1FFFFF", "ps100011"]),
             "cid": st.sampled_from([PACKAGE, "x"]),
             "tid": st.sampled_from(["GUID:5E1BA07B-6C5A-4C38-9E4A-3B0F2E0E9D11", "GUID:", "5E1BA07B"]),
             "iss": st.just("CM01"), "alg": st.just("1.2.840.113549.1.1.11"),
             "st": st.sampled_from(["2026-11-02T07:00:00", "2000-01-01T00:00:00", "2026-1-1T1:2:3",
                                    "٢٠٢٦-11-02T07:00:00"]),
             "et": st.sampled_from(["2026-11-02T16:00:00", "2999-12-31T23:59:59", "9999-99-99T99:99:99"])}
content_params = st.fixed_dictionaries({}, optional={
    name: (value | st.text(max_size=30)).filter(lambda v: v != TOKEN_PACKAGE) for name, value in plausible.items()})


@FUZZ
@given(data=st.data(), params=content_params,
       extra=st.dictionaries(header_text.filter(lambda name: name not in plausible), st.text(max_size=20), max_size=3))
def test_cmg_content_service_survives_any_query(cmg: TestClient, world: World, data: st.DataObject,
                                                params: dict[str, str], extra: dict[str, str]) -> None:
    headers = data.draw(auth_headers(world, ["ccm", "site"]) | st.just(
        {"authorization": f"Bearer {world.token('content', claims=(('pid', TOKEN_PACKAGE),))}"}))
    assert_answered_without_server_error(lambda: cmg.get("/downloadrestservice.svc/getcontentxmlsecure",
                                                         params={**extra, **params}, headers=headers))


# -- the admin and control APIs ---------------------------------------------------------------------------

# Small numbers only: a big enough size is a real package, whose content the site hashes (seconds, not a bug).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=20)
    | st.floats(-1e6, 1e6) | st.sampled_from([math.nan, math.inf, -math.inf]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)
# Values that broke the admin API once; drawn often, so every field meets them.
awkward = st.sampled_from([math.inf, -math.inf, math.nan, 1e300, 10**400, -1, 0, "", [], {}, [PACKAGE], True, None])


def fields(**plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """An object with any of these fields, each either a plausible value or any JSON at all."""
    return st.fixed_dictionaries({}, optional={name: value | awkward | json_values
                                               for name, value in plausible.items()})


step = fields(name=st.just("Step"), action=st.sampled_from(["Run Command Line", "Download Package Content", "Reboot"]),
              package=st.sampled_from([PACKAGE, "PS1FFFFF", ""]), packages=st.just([PACKAGE]),
              duration=st.sampled_from(["5 minutes", 30, "5 parsecs"]), continue_on_error=st.booleans(),
              condition=st.sampled_from(["OSDVAR=1", {"variable": "OSDVAR"}, "no equals sign"]),
              exit_code=st.sampled_from(["0xC1900208", 0, 2**32, "0xZZ"]),
              destination=st.sampled_from(["Custom path", "Configuration Manager client cache", "Attic"]),
              path=st.sampled_from(["C:\\Drivers", "C:\\..\\Windows", "D:\\x"]))
nodes = st.recursive(step, lambda children: fields(name=st.just("Group"), group=st.lists(children, max_size=3),
                                                   continue_on_error=st.booleans()), max_leaves=6)
ADMIN_BODIES = {
    ("PUT", "/_harness/site/version"): fields(version=st.sampled_from([1910, "2010", 1905])),
    ("PUT", "/_harness/site/packages/{id}"): fields(
        name=st.just("Package"), size=st.sampled_from(["1 MB", 2000, "3.2 parsecs"]), version=st.integers(0, 3),
        type=st.sampled_from(["Package", "OS upgrade package", "Firmware"])),
    ("POST", "/_harness/site/packages/{id}/distribute"): fields(to=st.lists(st.sampled_from(["dp", "cmg", "x"]))),
    ("PUT", "/_harness/site/task-sequences/{id}"): fields(
        name=st.just("TS"), steps=st.lists(nodes, max_size=3), variables=st.just({"OSDVAR": "1"})),
    ("PUT", "/_harness/site/deployments/{id}"): fields(
        task_sequence=st.sampled_from(["PS100020", "PS1FFFFF"]), purpose=st.sampled_from(["Available", "Always"]),
        option=st.sampled_from(["Download all content locally before starting task sequence", "download_all", "x"]),
        allow_internet=st.booleans()),
    ("PUT", "/_harness/site/cloud-sources/{id}"): fields(serve_content=st.booleans()),
    ("POST", "/_harness/site/registration-tokens"): fields(client=st.just("CLIENT01")),
    ("POST", "/_harness/faults"): fields(
        path=st.sampled_from(["/x", "x", "/", "/_harness/state"]), status=st.sampled_from([503, 200, 429]),
        count=st.integers(0, 2) | st.none(), method=st.sampled_from(["GET", "*", "GET /"]), reason=st.just("r"),
        kind=st.sampled_from(["status", "delay", "truncate", "corrupt", "explode"]),
        delay_s=st.floats(-1, 1e6), after_bytes=st.integers(-1, 10**6), every_bytes=st.integers(-1, 10**6),
        retry_after_s=st.integers(-1, 120), probability=st.floats(-0.5, 1.5), seed=st.integers(),
        window=fields(from_s=st.floats(-10, 1e6), until_s=st.floats(-10, 1e6) | st.none())),
}


@st.composite
def admin_requests(draw: st.DrawFn) -> tuple[str, str, bytes]:
    method, template = draw(st.sampled_from(sorted(ADMIN_BODIES)))
    path = template.format(id=draw(st.sampled_from([PACKAGE, "PS100020", "PS120001", "cmg", "dp", "x"])))
    body = draw(ADMIN_BODIES[method, template] | json_values)
    return method, path, draw(st.just(json.dumps(body).encode()) | st.binary(max_size=100))


@pytest.fixture(scope="module")
def admin_site(world: World) -> Iterator[TestClient]:
    """A site of its own: the admin fuzz redefines everything it can."""
    with TestClient(create_site(world.site_config()), raise_server_exceptions=False) as client:
        client.put(f"/_harness/site/packages/{PACKAGE}", json={"name": "p", "size": "1 MB"}).raise_for_status()
        yield client


@FUZZ
@given(request=admin_requests())
@example(request=("PUT", f"/_harness/site/packages/{PACKAGE}", b'{"name": "p", "size": Infinity}'))
@example(request=("PUT", "/_harness/site/task-sequences/PS100020",
                  b'{"name": "ts", "steps": [{"name": "s", "action": "Restart Computer", "package": ["PS100011"]}]}'))
@example(request=("POST", "/_harness/faults", b'{"path": "/x", "status": Infinity}'))
@example(request=("POST", "/_harness/faults", b"[" * 100_000))
def test_site_admin_api_survives_any_json(admin_site: TestClient, request: tuple[str, str, bytes]) -> None:
    method, path, body = request
    assert_answered_without_server_error(lambda: admin_site.request(method, path, content=body))
    admin_site.delete("/_harness/faults")  # an armed fault would answer the next example with its own 5xx


@FUZZ
@given(since=st.text(st.characters(categories=["Nd", "No"])) | st.text() | st.integers().map(str))
@example(since="1" * 5000)
def test_journal_survives_any_since(cmg: TestClient, since: str) -> None:
    assert_answered_without_server_error(lambda: cmg.get("/_harness/journal", params={"since": since}))

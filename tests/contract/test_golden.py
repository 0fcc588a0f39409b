"""Golden request/response pairs (tests/contract/golden/), each run against the in-process apps and against
the running `local` environment: the same bytes in, the same documented shape out.

A golden's request body is the documented example with this topology's names; its
expected reply is the documented reply's structure — element names, order, the exact attribute set —
with the values that must hold literally, `*` where any value will do, and `~regex` where a form must.
See golden/README.md for the file format.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from defusedxml.ElementTree import fromstring

from harness.environments.base import Endpoints
from harness.environments.inprocess import in_process_stack
from harness.environments.local import LocalEnvironment
from harness.net.http import make_client
from harness.net.tls import ClientCertIssuer, ServerCert
from tests.contract.wire import CONTENT_TYPE, ccm_message, ccm_reply, fill, value_matches, xml_differences

GOLDEN = Path(__file__).parent / "golden"
PACKAGE, TASK_SEQUENCE, DEPLOYMENT, CLIENT = "PS100011", "PS100010", "PS120001", "CLIENT01"
DP_ONLY_PACKAGE = "PS100012"  # on the site's DP only: an internet client gets the FALLBACK reply
SERVICES = ("mp", "cmg", "clouddp")

Send = Callable[..., httpx.Response]


@dataclass
class Target:
    """Where goldens are sent: `send(service, method, path, headers, content)`."""

    name: str
    endpoints: Endpoints
    send: Send
    send_with_certificate: Send | None = None  # None: this target cannot present a client certificate
    values: dict[str, str] = field(default_factory=dict)


def golden_files() -> list[Any]:
    return [pytest.param(path, id=str(path.relative_to(GOLDEN).with_suffix("")))
            for path in sorted(GOLDEN.glob("*/*.json"))]


# -- targets ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def in_process() -> Iterator[Target]:
    with in_process_stack() as (endpoints, clients):
        def send(service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
            return clients[service].request(method, path, follow_redirects=False, **kwargs)
        yield Target("in-process", endpoints, send)


@pytest.fixture(scope="module")
def server(module_environment: LocalEnvironment, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    env = module_environment
    workdir = env.workdir
    assert workdir is not None
    issuer = ServerCert(workdir / "pki" / "enrollment-ca.pem", workdir / "pki" / "enrollment-ca.key")
    cert = ClientCertIssuer(issuer, tmp_path_factory.mktemp("client-cert")).issue(CLIENT)
    with make_client(env.endpoints.hosts(), env.endpoints.ca_cert, timeout=30,
                     cert=(cert.cert_path, cert.key_path)) as pki_client:
        def send(service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
            return env.http.request(method, env.endpoints[service].base + path, **kwargs)

        def send_with_certificate(service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
            return pki_client.request(method, env.endpoints[service].base + path, **kwargs)
        yield Target("server", env.endpoints, send, send_with_certificate)


@pytest.fixture(params=["in-process", "server"])
def target(request: pytest.FixtureRequest) -> Target:
    chosen: Target = request.getfixturevalue("in_process" if request.param == "in-process" else "server")
    seed(chosen)
    return chosen


# -- the site every golden starts from ------------------------------------------------------------------


def seed(target: Target) -> None:
    """Reset, then: an OS upgrade package on the site's DP, the CMG and a cloud DP; a task sequence deployed
    with it; a site token and a CCM token for CLIENT01; the content URL and token an internet client gets."""
    for service in SERVICES:
        ok(target.send(service, "POST", "/_harness/reset"))
    admin = "/_harness/site"
    # 2010: site tokens (2002+) and classic cloud DPs (until 2107) both exist.
    ok(target.send("mp", "PUT", f"{admin}/version", json={"version": 2010}))
    ok(target.send("mp", "POST", f"{admin}/cloud-dps/clouddp", json={}))
    ok(target.send("mp", "PUT", f"{admin}/packages/{PACKAGE}", json={"name": "Windows 11 23H2", "size": "3.2 GB",
                                                                     "type": "OS upgrade package"}))
    ok(target.send("mp", "POST", f"{admin}/packages/{PACKAGE}/distribute", json={"to": ["dp", "cmg", "clouddp"]}))
    ok(target.send("mp", "PUT", f"{admin}/packages/{DP_ONLY_PACKAGE}", json={"name": "Drivers", "size": "20 MB"}))
    ok(target.send("mp", "POST", f"{admin}/packages/{DP_ONLY_PACKAGE}/distribute", json={"to": ["dp"]}))
    ok(target.send("mp", "PUT", f"{admin}/task-sequences/{TASK_SEQUENCE}", json={"name": "Upgrade", "steps": [
        {"name": "Upgrade Operating System", "action": "Upgrade Operating System", "package": PACKAGE}]}))
    ok(target.send("mp", "PUT", f"{admin}/deployments/{DEPLOYMENT}", json={
        "task_sequence": TASK_SEQUENCE, "allow_internet": True,
        "option": "Download content locally when needed by the running task sequence"}))
    target.values = topology_values(target.endpoints)
    site_token = ok(target.send("mp", "POST", f"{admin}/registration-tokens", json={"client": CLIENT})).json()["token"]
    ccm_token = ok(target.send("mp", "POST", "/CCM_STS", headers={"authorization": f"Bearer {site_token}"})).text
    target.values.update(site_token=site_token, ccm_token=ccm_token)
    target.values.update(content_values(target))
    target.values["journal_mark"] = json.dumps({s: product_requests(target, s) for s in SERVICES})


def topology_values(endpoints: Endpoints) -> dict[str, str]:
    mp, cmg = endpoints["mp"], endpoints["cmg"]
    return {"site_code": "PS1", "mp_fqdn": mp.hostname, "mp_fqdn_upper": mp.hostname.upper(),
            "mp_port": str(mp.port), "cmg_fqdn": cmg.hostname, "cmg_id": cmg.path.rstrip("/").rsplit("/", 1)[1],
            "clouddp_fqdn": endpoints["clouddp"].hostname, "package": PACKAGE, "package_dp_only": DP_ONLY_PACKAGE,
            "client": CLIENT, "deployment": DEPLOYMENT, "task_sequence": TASK_SEQUENCE}


def content_values(target: Target) -> dict[str, str]:
    """The CMG content URL and access token from an internet client's location reply, as the client gets them."""
    body = fill((GOLDEN / "mp" / "content_location_request_internet.xml").read_text(), target.values)
    reply = ok(target.send("mp", "CCM_POST", "/ccm_system_tokenauth/request", content=ccm_message(
        "MP_LocationManager", body, client=CLIENT, mp=target.values["mp_fqdn"]),
        headers={"content-type": CONTENT_TYPE, "authorization": f"Bearer {target.values['ccm_token']}"}))
    root = fromstring(ccm_reply(reply.content, reply.headers["content-type"])[1])
    urls = [u.get("Name", "") for u in root.iter("URL")]
    def path_on(host: str) -> str:
        return httpx.URL(next(u for u in urls if host in u)).raw_path.decode()
    return {"content_path": path_on(target.values["cmg_fqdn"]),
            "clouddp_content_path": path_on(target.values["clouddp_fqdn"]),
            "content_token": root.findtext("ContentAccessToken") or ""}


def product_requests(target: Target, service: str) -> int:
    """How many product requests (not the harness's control API) the service has answered since reset."""
    entries = ok(target.send(service, "GET", "/_harness/journal")).json()
    return sum(1 for entry in entries if not entry["path"].startswith("/_harness/"))


def ok(response: httpx.Response) -> httpx.Response:
    assert response.status_code < 400, f"{response.request.method} {response.request.url}: {response.text}"
    return response


# -- the test ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", golden_files())
def test_golden(path: Path, target: Target) -> None:
    golden = json.loads(path.read_text())
    request, expected = golden["request"], golden["response"]
    if golden.get("client_certificate") and target.send_with_certificate is None:
        pytest.skip("a client certificate needs a TLS handshake: checked against the running server only")
    response = send_golden(target, path.parent, request, bool(golden.get("client_certificate")))
    check_status_and_headers(response, expected, target.values)
    check_body(response, expected, path.parent, target.values)
    for service, count in golden.get("journal_grows_by", {}).items():
        mark = json.loads(target.values["journal_mark"])[service]
        grown = product_requests(target, service) - mark
        assert grown == count, f"{service} answered {grown} product requests during this exchange, expected {count}"


def send_golden(target: Target, folder: Path, request: dict[str, Any], certificate: bool) -> httpx.Response:
    values = target.values
    headers = {name: fill(value, values) for name, value in request.get("headers", {}).items()}
    content: bytes | None = None
    if "message" in request:
        body = fill((folder / request["message"]["body"]).read_text(), values)
        content = ccm_message(request["message"]["endpoint"], body, client=CLIENT, mp=values["mp_fqdn"])
        headers.setdefault("content-type", CONTENT_TYPE)
    elif "body" in request:
        content = fill(request["body"], values).encode()
    send = target.send_with_certificate if certificate else target.send
    assert send is not None
    return send(request["service"], request["method"], fill(request["path"], values), headers=headers,
                content=content)


def check_status_and_headers(response: httpx.Response, expected: dict[str, Any], values: dict[str, str]) -> None:
    assert response.status_code == expected["status"], response.text[:500]
    for name, pattern in expected.get("headers", {}).items():
        actual = response.headers.get(name)
        assert actual is not None, f"no {name} header; got {dict(response.headers)}"
        assert value_matches(pattern, actual, values), f"{name}: {actual!r} does not match {pattern!r}"


def check_body(response: httpx.Response, expected: dict[str, Any], folder: Path, values: dict[str, str]) -> None:
    if "message_xml" in expected:
        header, payload = ccm_reply(response.content, response.headers["content-type"])
        assert not xml_differences((GOLDEN / "reply_header.xml").read_text(), header, values)
        differences = xml_differences((folder / expected["message_xml"]).read_text(), payload, values)
        assert not differences, "\n".join(differences)
    elif "xml" in expected:
        differences = xml_differences((folder / expected["xml"]).read_text(), response.text, values)
        assert not differences, "\n".join(differences)
    elif "text" in expected:
        assert value_matches(expected["text"], response.text, values), response.text[:500]

"""Raw request lines at the socket level, to every service of a running local environment: whatever the method,
the escapes, a NUL, the length of the path or a 1 MB body on any route, a service answers with a status line,
never a 5xx, never by closing the connection silently, and within a few seconds. test_emulator_fuzz.py fuzzes the
apps in-process through an HTTP client, which cannot send what these send and never sees the server's own framing.

Lengths, as IIS has them (harness/service/http_sys.py, docs/bad-input.md): on the product's IIS sites (site,
CMG, cloud DP) a path up to 4096 bytes and a query string up to 2048 reach the routes, longer ones are 404.14 and
404.15 (IIS's request filtering, which the harness's own services and storage, whose URLs Azurite judges, do not
have). A request line longer than 16 KiB is 414 on every service, and a head (request line and headers) longer
than that is 400: h11 reads a head of 16 KiB at most (its default, which is also HTTP.sys's MaxRequestBytes).

Size of one run: 6 services × (5 control-character escapes + 6 lengths) exact requests, 100 generated request
lines, and one 1 MB body on every route of every service (107 routes today): about 7 s with the environment's
start. Every exchange has a 10 s deadline, connection and TLS handshake included.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from harness.environments.azurite import generate_account_key
from harness.environments.local import PYTHON_SERVICES, LocalEnvironment
from harness.net.tls import TestPKI
from harness.service.serve import build_app
from tests.contract.raw import WireAnswer, send_raw

pytestmark = pytest.mark.slow

SERVICES = {"site": "mp", "cmg": "cmg", "clouddp": "clouddp", "storage": "storage", "client": "client",
            "network": "network"}  # service → its endpoint's name
IIS_SITES = ["site", "cmg", "clouddp"]  # IIS sites in the product: request filtering on their own paths
TIMEOUT_S = 10.0
SLOWEST_ANSWER_S = 5.0
EXAMPLES = 100
RAW = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=TIMEOUT_S + 2),
               suppress_health_check=[HealthCheck.too_slow])
MAX_URL, MAX_QUERY, MAX_HEAD = 4096, 2048, 16 * 1024
BODY = random.Random(0).randbytes(1024 * 1024)
VERBS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CCM_POST", "PROPFIND", "MKCOL", "BITS_POST",
         "TRACE", "CONNECT", "get", "X" * 40, "G@T", "GET\tGET", ""]


def send(env: LocalEnvironment, service: str, request: bytes) -> WireAnswer:
    endpoint = env.endpoints[SERVICES[service]]
    port = endpoint.control_port or endpoint.port  # the service itself, not the network's proxy in front of it
    try:
        return send_raw(("127.0.0.1", port), endpoint.hostname, env.endpoints.ca_cert, request, TIMEOUT_S)
    except TimeoutError:
        pytest.fail(f"{service} gave no answer within {TIMEOUT_S:g} s to {request[:100]!r}")


def request_line(env: LocalEnvironment, service: str, method: str, target: str, *, version: str = "HTTP/1.1",
                 headers: str = "", body: bytes = b"") -> bytes:
    host = env.endpoints[SERVICES[service]].hostname
    length = f"content-length: {len(body)}\r\n" if body else ""
    return f"{method} {target} {version}\r\nhost: {host}\r\n{length}{headers}\r\n".encode("latin-1") + body


def assert_answered(answer: WireAnswer) -> None:
    """A status line, no 5xx, in time: what every request gets, however bad."""
    assert answer.status is not None, f"closed without an answer (read {answer.head[:200]!r})"
    assert answer.status < 500, answer.head.decode("latin-1")
    assert answer.seconds < SLOWEST_ANSWER_S, f"answered after {answer.seconds:.1f} s"


# -- control characters ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("escape", ["%00", "%0A", "%0d", "%7F", "%C2%9F"])
@pytest.mark.parametrize("service", SERVICES)
def test_a_path_with_a_control_character_is_400_invalid_url(module_environment: LocalEnvironment, service: str,
                                                            escape: str) -> None:
    answer = send(module_environment, service, request_line(module_environment, service, "GET", f"/a{escape}b"))
    assert_answered(answer)
    assert answer.status == 400, answer.head.decode("latin-1")
    words = b"InvalidUri" if service == "storage" else b"HTTP Error 400. The request URL is invalid."
    assert words in answer.head + answer.body


def test_storage_answers_a_malformed_escape_400_invalid_uri(module_environment: LocalEnvironment) -> None:
    for target in ("/a%ZZ", "/content/a%", "/content/a%4", "/a%G0/b"):
        answer = send(module_environment, "storage", request_line(module_environment, "storage", "GET", target))
        assert answer.status == 400, answer.head.decode("latin-1")
        assert b"x-ms-error-code: InvalidUri" in answer.head
        assert b"<Code>InvalidUri</Code>" in answer.body


# -- lengths -----------------------------------------------------------------------------------------------------


LENGTHS = {  # name: (target, what it may be answered)
    "path-at-limit": ("/" + "a" * (MAX_URL - 1), None),
    "path-over-limit": ("/" + "a" * MAX_URL, 404),
    "query-at-limit": ("/x?" + "q" * MAX_QUERY, None),
    "query-over-limit": ("/x?" + "q" * (MAX_QUERY + 1), 404),
    "request-line-over-head-limit": ("/" + "a" * MAX_HEAD, 414),
}


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("service", SERVICES)
def test_long_urls_are_answered_as_iis_answers_them(module_environment: LocalEnvironment, service: str,
                                                    length: str) -> None:
    target, status = LENGTHS[length]
    answer = send(module_environment, service, request_line(module_environment, service, "GET", target))
    assert_answered(answer)
    if status == 404 and service in IIS_SITES:
        substatus = b"404.14" if "path" in length else b"404.15"
        assert answer.status == 404 and substatus in answer.body, answer.head.decode("latin-1")
    elif status == 414:
        assert answer.status == 414, answer.head.decode("latin-1")
    elif service != "storage":  # within the limits: whatever the route says, but no refusal of the URL
        assert answer.status not in (400, 414) and b"404.1" not in answer.body, answer.head.decode("latin-1")


@pytest.mark.parametrize("service", SERVICES)
def test_a_head_longer_than_16_kib_is_400(module_environment: LocalEnvironment, service: str) -> None:
    header = f"x-filler: {'f' * MAX_HEAD}\r\n"
    answer = send(module_environment, service, request_line(module_environment, service, "GET", "/", headers=header))
    assert_answered(answer)
    assert answer.status == 400 and b"HTTP Error 400. The size of the request headers is too long." in answer.body


# -- generated request lines -------------------------------------------------------------------------------------

ESCAPES = ["%00", "%0A", "%1F", "%7F", "%C2%80", "%ZZ", "%", "%4", "%2e%2e", "%2F", "%5C", "%FF", "%C0%AE", "%25",
           "%u002e"]
WORDS = ["..", ".", "_harness", "health", "journal", "SMS_MP", ".sms_aut", "SMS_DP_SMSPKG$", "PS100011", "clients",
         "CCM_Proxy_MutualAuth", "72186325152220500", "downloadrestservice.svc", "getcontentxmlsecure", "proxies",
         "content", "", "~", "é"]
segment = st.sampled_from(WORDS + ESCAPES) | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                                                   exclude_characters="/?#% "), max_size=10)
# Any byte but CR and LF in the target (those end the line; explicit examples below send them); latin-1 keeps bytes.
noise = st.binary(max_size=6).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"").decode("latin-1"))
targets = st.builds(lambda parts, query, extra: "/" + "/".join(parts) + (f"?{query}" if query else "") + extra,
                    st.lists(segment, max_size=6), st.sampled_from(["", "a=b", "%00", "%ZZ", "MPLIST", "&&=="]),
                    st.just("") | noise)
versions = st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/1.1", "HTTP/2.0", "HTTP/1.1x", "http/1.1", "HTTP/0.9"])


@RAW
@given(service=st.sampled_from(sorted(SERVICES)), method=st.sampled_from(VERBS), target=targets, version=versions)
@example(service="site", method="GET", target="/SMS_MP/.sms_aut\n?MPLIST", version="HTTP/1.1")
@example(service="cmg", method="GET", target="/a\rb", version="HTTP/1.1")
@example(service="storage", method="PUT", target="/content/%00", version="HTTP/1.1")
@example(service="network", method="POST", target="/proxies/%00/toxics", version="HTTP/1.1")
@example(service="storage", method="GET", target="/%25", version="HTTP/1.1")  # once forwarded decoded: 500
@example(service="storage", method="GET", target="/%FF", version="HTTP/1.1")  # not UTF-8: Azurite answered 500
def test_any_request_line_is_answered(module_environment: LocalEnvironment, service: str, method: str, target: str,
                                      version: str) -> None:
    request = request_line(module_environment, service, method, target, version=version)
    assert_answered(send(module_environment, service, request))


# -- 1 MB bodies -------------------------------------------------------------------------------------------------

BODY_METHODS = ("POST", "PUT", "CCM_POST", "PROPFIND", "DELETE", "OPTIONS", "GET", "HEAD")


def service_routes(workdir: Path) -> Iterator[tuple[str, str, str]]:
    """(service, method, path) for every route of every service, read from the apps themselves, built here from
    the configurations the environment would hand its processes; one method per route, one taking a body first."""
    env = LocalEnvironment()  # never started: only its configurations are used
    pki = TestPKI.create(workdir / "pki")
    endpoints = env.endpoints_for({name: 9 for name in PYTHON_SERVICES}, pki.ca_cert_path)
    keys = {env.topology.cmg_account: generate_account_key(), env.topology.clouddp_account: generate_account_key()}
    configs = env.service_configs(endpoints, pki, workdir, keys, azurite_port=9)
    for service in SERVICES:
        for route in build_app(service, configs[service]).routes:
            if isinstance(route, Route) and route.methods:
                method = min(route.methods, key=lambda m: BODY_METHODS.index(m) if m in BODY_METHODS else 99)
                yield service, method, re.sub(r"\{(\w+)(:\w+)?\}", "x", route.path)


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, str]]:
    return list(service_routes(tmp_path_factory.mktemp("routes")))


def test_a_1_mb_body_on_every_route_is_answered(module_environment: LocalEnvironment,
                                                routes: list[tuple[str, str, str]]) -> None:
    assert len(routes) > 100 and {service for service, _, _ in routes} == set(SERVICES)
    failures = []
    for service, method, path in routes:
        answer = send(module_environment, service, request_line(module_environment, service, method, path, body=BODY))
        if answer.status is None or answer.status >= 500 or answer.seconds >= SLOWEST_ANSWER_S:
            failures.append(f"{service} {method} {path}: {answer.head[:120]!r} after {answer.seconds:.1f} s")
    module_environment.reset()  # the control routes took a 1 MB body too: leave the environment as it started
    assert not failures, "\n".join(failures)

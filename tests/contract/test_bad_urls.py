"""URLs the server in front of a service refuses before any route sees them, in-process: a control character in
the path is 400 "Bad Request - Invalid URL" on every IIS-like service, and 400 InvalidUri in Azure's words at the
storage front, as is a malformed escape there; IIS's request filtering refuses long URLs and query strings with
404.14 and 404.15; a reason never puts a control character into a header (h11 would refuse to send it, and the
connection would close without any answer). test_emulator_fuzz_raw.py sends the same at the socket level."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from defusedxml.ElementTree import fromstring
from starlette.testclient import TestClient

from harness.clock.model_clock import ModelClock
from harness.emulators.clouddp.app import create_app as create_clouddp
from harness.emulators.network.app import create_app as create_network
from harness.emulators.storage.app import create_app as create_storage
from harness.environments.azurite import generate_account_key
from harness.model.units import Scale
from harness.net.tls import TestPKI
from harness.service.configs import CloudDpServiceConfig, NetworkServiceConfig, StorageServiceConfig
from harness.service.control import error_response

ACCOUNT = "contosocmgcontent"
CONTROL_CHARACTERS = ["%00", "%0A", "%0D", "%1F", "%7F", "%C2%80", "%C2%9F"]


@pytest.fixture
def clouddp(pki: TestPKI, clock: ModelClock, key: bytes, closed_port: int) -> Iterator[TestClient]:
    account = {"name": "contosoclouddp", "key": generate_account_key(),
               "endpoint": f"https://127.0.0.1:{closed_port}/contosoclouddp",
               "public_endpoint": f"https://contosoclouddp.blob.core.example:{closed_port}"}
    config = {"tls": {"ca": str(pki.ca_cert_path)}, "clock": clock.to_json(), "key": key.hex(), "name": "clouddp",
              "storage": account}
    with TestClient(create_clouddp(CloudDpServiceConfig.from_json(config)), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def network(clock: ModelClock) -> Iterator[TestClient]:
    config = NetworkServiceConfig.from_json({"seed": 0, "clock": clock.to_json()})
    with TestClient(create_network(config), raise_server_exceptions=False) as client:
        yield client


class Azurite:
    """Every request the front passed on."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(404, headers={"x-ms-error-code": "BlobNotFound"})


@pytest.fixture
def azurite() -> Azurite:
    return Azurite()


@pytest.fixture
def storage(azurite: Azurite) -> Iterator[TestClient]:
    config = StorageServiceConfig.from_json({
        "tls": {"ca": "unused"}, "clock": ModelClock(Scale(1), real_epoch=time.time()).to_json(),
        "upstream": "https://127.0.0.1:10000", "accounts": {ACCOUNT: generate_account_key()}})
    front = create_storage(config, upstream=httpx.AsyncClient(transport=httpx.MockTransport(azurite)))
    with TestClient(front, base_url=f"https://{ACCOUNT}.blob.core.example", raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(params=["site", "cmg", "clouddp", "agent", "network"])
def iis_like(request: pytest.FixtureRequest) -> TestClient:
    client: TestClient = request.getfixturevalue(request.param)
    return client


def invalid_url(response: Any, escape: str) -> None:
    assert response.status_code == 400, response.text
    assert "<h2>Bad Request - Invalid URL</h2>" in response.text
    assert "HTTP Error 400. The request URL is invalid." in response.text
    assert response.headers["x-harness-reason"] == f"the URL's path holds {escape}, a control character HTTP.sys " \
                                                   "refuses"


def invalid_uri(response: Any) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["x-ms-error-code"] == "InvalidUri"
    error = fromstring(response.text)
    assert error.findtext("Code") == "InvalidUri"
    assert (error.findtext("Message") or "").startswith(
        "The requested URI does not represent any resource on the server.\nRequestId:")


@pytest.mark.parametrize("escape", CONTROL_CHARACTERS)
def test_a_control_character_in_the_path_is_400_invalid_url(iis_like: TestClient, escape: str) -> None:
    invalid_url(iis_like.get(f"/SMS_MP/.sms_aut{escape}x"), escape)
    invalid_url(iis_like.post(f"/_harness/reset{escape}"), escape)  # the control API is behind the same server


def test_a_refused_url_is_journaled_as_any_answer(site: TestClient) -> None:
    site.get("/a%00")
    assert site.get("/_harness/journal").json()[-1] | {"time": 0, "elapsed_ms": 0} == {
        "seq": 1, "time": 0, "method": "GET", "path": "/a\x00", "query": "", "status": 400, "elapsed_ms": 0,
        "note": ""}


@pytest.mark.parametrize("escape", CONTROL_CHARACTERS)
def test_storage_refuses_a_control_character_as_invalid_uri_without_asking_azurite(
        storage: TestClient, azurite: Azurite, escape: str) -> None:
    invalid_uri(storage.get(f"/content/PS100011/a{escape}b"))
    assert azurite.requests == []


@pytest.mark.parametrize("path", ["/a%ZZ", "/content/a%", "/content/a%4", "/content/%G0/b", "/content/a%%41"])
def test_storage_refuses_a_malformed_escape_as_invalid_uri_without_asking_azurite(
        storage: TestClient, azurite: Azurite, path: str) -> None:
    response = storage.put(path, content=b"x")
    invalid_uri(response)
    assert "a % not followed by two hex digits" in response.headers["x-harness-reason"]
    assert azurite.requests == []


def test_storage_passes_well_formed_escapes_on(storage: TestClient, azurite: Azurite) -> None:
    assert storage.get("/content/PS100011/a%20b%2Fc%41").status_code == 404
    assert len(azurite.requests) == 1


@pytest.fixture(params=["site", "cmg", "clouddp"])
def product_site(request: pytest.FixtureRequest) -> TestClient:
    """A service that is an IIS site in the product, with IIS's request filtering."""
    client: TestClient = request.getfixturevalue(request.param)
    return client


@pytest.mark.parametrize(("url", "substatus", "words"), [
    ("/" + "a" * 4096, "404.14", "the URL has 4097 bytes; IIS's request filtering allows 4096 (maxUrl)"),
    ("/x?" + "q" * 2049, "404.15", "the query string has 2049 bytes; IIS's request filtering allows 2048"),
])
def test_iis_request_filtering_refuses_long_urls(product_site: TestClient, url: str, substatus: str,
                                                 words: str) -> None:
    response = product_site.get(url)
    assert response.status_code == 404 and f"HTTP Error {substatus} - Not Found" in response.text
    assert words in response.headers["x-harness-reason"]


@pytest.mark.parametrize("url", ["/" + "a" * 4095, "/x?" + "q" * 2048])
def test_urls_within_iis_limits_reach_the_routes(site: TestClient, url: str) -> None:
    response = site.get(url)
    assert response.status_code == 404 and response.headers["x-harness-reason"].startswith("no endpoint at /")


def test_the_control_api_has_no_request_filtering(iis_like: TestClient) -> None:
    """Request filtering is the product's IIS configuration, not the harness's: the journal judges its own 'since'
    (HTTP.sys's limits still hold)."""
    response = iis_like.get("/_harness/journal", params={"since": "1" * 5000})
    assert response.status_code == 400 and "'since' must be a journal sequence" in response.text


@pytest.fixture(params=["agent", "network"])
def harness_api(request: pytest.FixtureRequest) -> TestClient:
    client: TestClient = request.getfixturevalue(request.param)
    return client


@pytest.mark.parametrize("url", ["/clients/" + "a" * 5000, "/proxies?" + "q" * 5000])
def test_the_harness_s_own_services_have_no_request_filtering(harness_api: TestClient, url: str) -> None:
    response = harness_api.get(url)
    assert response.status_code < 500 and "404.1" not in response.text, response.text


def test_a_request_line_over_16_kib_is_414_everywhere(iis_like: TestClient, storage: TestClient) -> None:
    for client in (iis_like, storage):
        response = client.get("/" + "a" * 16 * 1024)
        assert response.status_code == 414 and "HTTP Error 414. The request URL is too long." in response.text


def test_a_head_over_16_kib_is_400(iis_like: TestClient) -> None:
    response = iis_like.get("/", headers={"x-filler": "f" * 16 * 1024})
    assert response.status_code == 400 and "HTTP Error 400. The size of the request headers is too long." in \
        response.text


@pytest.mark.parametrize(("reason", "sent"), [
    ("no endpoint at /a\x00b", "no endpoint at /a%00b"),
    ("no client named 'A\r\nSet-Cookie: x'", "no client named 'A%0D%0ASet-Cookie: x'"),
    ("no log 'é\x7f'", "no log '?%7F'"),
])
def test_a_reason_goes_out_in_a_header_without_control_characters(reason: str, sent: str) -> None:
    assert error_response(400, reason).headers["x-harness-reason"] == sent

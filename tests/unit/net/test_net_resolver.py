"""The resolver and client factory against a real uvicorn HTTPS server on 127.0.0.1."""

import asyncio
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from harness.net.http import make_async_client, make_client
from harness.net.resolver import NameNotResolved, ResolvingTransport
from harness.net.tls import ServerCert, TestPKI

CMG = "cmg.contoso.example"
MP = "mp.contoso.example"  # not on the server's certificate
LOOPBACK = {CMG: "127.0.0.1", MP: "127.0.0.1"}


async def _echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse({"host": request.headers["host"], "method": request.method, "length": len(body)})


async def _redirect(request: Request) -> Response:
    return RedirectResponse("/", status_code=302)


APP = Starlette(routes=[Route("/", _echo, methods=["GET", "CCM_POST"]), Route("/redirect", _redirect)])


@dataclass
class Server:
    port: int
    ca_cert_path: Path

    def url(self, host: str, path: str = "/") -> str:
        return f"https://{host}:{self.port}{path}"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI.create(tmp_path_factory.mktemp("pki"))


def _serve(cert: ServerCert, *, client_ca: Path | None = None) -> Iterator[int]:
    config = uvicorn.Config(
        APP,
        host="127.0.0.1",
        port=0,
        http="h11",
        lifespan="off",
        log_level="critical",
        ssl_certfile=str(cert.cert_path),
        ssl_keyfile=str(cert.key_path),
        ssl_ca_certs=str(client_ca) if client_ca else None,
        ssl_cert_reqs=ssl.CERT_REQUIRED if client_ca else ssl.CERT_NONE,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def server(pki: TestPKI) -> Iterator[Server]:
    cert = pki.issue_server_cert("cmg", [CMG, "127.0.0.1"])
    for port in _serve(cert):
        yield Server(port, pki.ca_cert_path)


@pytest.fixture(scope="module")
def mtls_server(pki: TestPKI) -> Iterator[Server]:
    cert = pki.issue_server_cert("cmg-mtls", [CMG])
    for port in _serve(cert, client_ca=pki.ca_cert_path):
        yield Server(port, pki.ca_cert_path)


def test_mapped_name_reaches_loopback_with_its_host_header(server: Server) -> None:
    with make_client(LOOPBACK, server.ca_cert_path) as client:
        response = client.get(server.url(CMG))

    assert response.status_code == 200
    assert response.json()["host"] == f"{CMG}:{server.port}"
    assert response.request.url.host == CMG


def test_host_names_match_case_insensitively(server: Server) -> None:
    with make_client({"CMG.Contoso.Example": "127.0.0.1"}, server.ca_cert_path) as client:
        response = client.get(server.url("Cmg.CONTOSO.example"))

    assert response.status_code == 200


def test_ip_literal_passes_through_unmapped(server: Server) -> None:
    with make_client({}, server.ca_cert_path) as client:
        response = client.get(server.url("127.0.0.1"))

    assert response.json()["host"] == f"127.0.0.1:{server.port}"


def test_name_the_certificate_does_not_cover_fails_verification(server: Server) -> None:
    with make_client(LOOPBACK, server.ca_cert_path) as client, pytest.raises(httpx.ConnectError) as failure:
        client.get(server.url(MP))

    assert "CERTIFICATE_VERIFY_FAILED" in str(failure.value)
    assert MP in str(failure.value)


def test_second_name_on_the_same_port_does_not_reuse_the_first_names_connection(server: Server) -> None:
    with make_client(LOOPBACK, server.ca_cert_path) as client:
        assert client.get(server.url(CMG)).status_code == 200

        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            client.get(server.url(MP))


def test_unmapped_name_is_not_resolved(server: Server) -> None:
    with (
        make_client({MP: "127.0.0.1"}, server.ca_cert_path) as client,
        pytest.raises(NameNotResolved) as failure,
    ):
        client.get(server.url(CMG))

    assert str(failure.value) == f"The server name or address could not be resolved: {CMG} (0x80072EE7)"
    assert failure.value.host == CMG
    assert isinstance(failure.value, httpx.ConnectError)


def test_certificate_from_another_ca_is_rejected(server: Server, tmp_path: Path) -> None:
    other = TestPKI.create(tmp_path, ca_name="Some Other Root")

    with make_client(LOOPBACK, other.ca_cert_path) as client, pytest.raises(httpx.ConnectError):
        client.get(server.url(CMG))


def test_configmgr_verb_and_body_survive_the_rewrite(server: Server) -> None:
    with make_client(LOOPBACK, server.ca_cert_path) as client:
        response = client.request("CCM_POST", server.url(CMG), content=b"x" * 5000)

    assert response.json() == {"host": f"{CMG}:{server.port}", "method": "CCM_POST", "length": 5000}


def test_redirects_are_returned_not_followed(server: Server) -> None:
    with make_client(LOOPBACK, server.ca_cert_path) as client:
        response = client.get(server.url(CMG, "/redirect"))

    assert response.status_code == 302


def test_clients_always_have_timeouts(server: Server) -> None:
    with make_client(
        LOOPBACK, server.ca_cert_path, timeout=2.5, headers={"User-Agent": "SMS CCM 5.0"}
    ) as client:
        assert client.timeout == httpx.Timeout(2.5)
        assert client.headers["User-Agent"] == "SMS CCM 5.0"
    with pytest.raises(ValueError, match="positive"):
        make_client(LOOPBACK, server.ca_cert_path, timeout=0)


def test_host_map_needs_ip_addresses(server: Server) -> None:
    with pytest.raises(ValueError, match="IP literal"):
        ResolvingTransport({CMG: "localhost"}, ssl.create_default_context())


@pytest.mark.parametrize(
    "identity", ["client01.contoso.example", "GUID:1B4E28BA-2FA1-11D2-883F-0016D3CCA427"]
)
def test_client_certificate_is_presented_for_mutual_tls(
    mtls_server: Server, pki: TestPKI, identity: str
) -> None:
    client_cert = pki.issue_client_cert(identity)

    with make_client(
        LOOPBACK, pki.ca_cert_path, cert=(client_cert.cert_path, client_cert.key_path)
    ) as client:
        response = client.get(mtls_server.url(CMG))

    assert response.status_code == 200


def test_server_requiring_a_client_certificate_refuses_a_client_without_one(mtls_server: Server) -> None:
    with make_client(LOOPBACK, mtls_server.ca_cert_path) as client, pytest.raises(httpx.TransportError):
        client.get(mtls_server.url(CMG))


def test_async_client_resolves_checks_names_and_keeps_pools_apart(server: Server) -> None:
    async def scenario() -> tuple[int, str, str]:
        async with make_async_client(LOOPBACK, server.ca_cert_path) as client:
            status = (await client.get(server.url(CMG))).status_code
            with pytest.raises(httpx.ConnectError) as mismatch:
                await client.get(server.url(MP))
            with pytest.raises(NameNotResolved) as unresolved:
                await client.get(server.url("dp.contoso.example"))
        return status, str(mismatch.value), str(unresolved.value)

    status, mismatch, unresolved = asyncio.run(scenario())

    assert status == 200
    assert "CERTIFICATE_VERIFY_FAILED" in mismatch
    assert "0x80072EE7" in unresolved

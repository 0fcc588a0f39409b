"""An HTTPS distribution point over real TLS, the site app under uvicorn as `serve` runs a service that takes
client certificates: an enrolled PKI client certificate gets the content, no certificate gets 403.7, and the
cert-less vdir serves anyone (docs/distribution-point.md)."""

from __future__ import annotations

import secrets
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from harness.clock.model_clock import ModelClock
from harness.emulators.site.app import create_app as create_site
from harness.model.units import Scale
from harness.net.http import make_client
from harness.net.tls import ClientCertIssuer, TestPKI
from harness.service.configs import SiteServiceConfig
from harness.service.tls_peers import PeerCertificateH11Protocol

MP_FQDN = "cm01.corp.contoso.example"
FILE = "/SMS_DP_SMSPKG$/PS100011/content.bin"


@pytest.fixture
def pki(tmp_path: Path) -> TestPKI:
    return TestPKI.create(tmp_path / "pki")


@pytest.fixture
def base_url(pki: TestPKI) -> Iterator[str]:
    """The site, its DP in HTTPS mode, served over TLS from a thread; it asks every client for a certificate."""
    cert = pki.issue_server_cert("site", [MP_FQDN])
    tls = {"ca": str(pki.ca_cert_path), "cert": str(cert.cert_path), "key": str(cert.key_path),
           "client_certificates": True}
    config = SiteServiceConfig.from_json({
        "tls": tls, "clock": ModelClock.starting_now(Scale(5000)).to_json(), "key": secrets.token_bytes(32).hex(),
              "site_code": "PS1", "version": 2002, "mp_fqdn": MP_FQDN, "mp_port": 443, "cloud_sources": [],
              "https_dps": ["dp"]})
    server = uvicorn.Server(uvicorn.Config(
        create_site(config), http=PeerCertificateH11Protocol, lifespan="off", log_config=None, access_log=False,
        ssl_certfile=tls["cert"], ssl_keyfile=tls["key"], ssl_cert_reqs=ssl.CERT_OPTIONAL, ssl_ca_certs=tls["ca"]))
    sock = socket.create_server(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"https://{MP_FQDN}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def client(pki: TestPKI, cert: tuple[Path, Path] | None = None) -> httpx.Client:
    return make_client({MP_FQDN: "127.0.0.1"}, pki.ca_cert_path, timeout=10, cert=cert)


def stock(http: httpx.Client, base_url: str) -> None:
    for _ in range(200):
        try:
            http.get(f"{base_url}/_harness/health")
            break
        except httpx.ConnectError:
            time.sleep(0.025)
    http.put(f"{base_url}/_harness/site/packages/PS100011", json={"name": "p", "size": "1 MB"}).raise_for_status()
    http.post(f"{base_url}/_harness/site/packages/PS100011/distribute", json={"to": ["dp"]}).raise_for_status()


def test_only_a_client_with_a_certificate_gets_content_from_an_https_dp(pki: TestPKI, base_url: str,
                                                                       tmp_path: Path) -> None:
    enrolled = ClientCertIssuer(pki.enrollment_ca(), tmp_path / "clients").issue("CLIENT01")
    with client(pki) as anonymous, client(pki, (enrolled.cert_path, enrolled.key_path)) as pki_client:
        stock(anonymous, base_url)
        refused = anonymous.get(f"{base_url}{FILE}")
        assert refused.status_code == 403 and "403.7" in refused.text, refused.status_code
        assert anonymous.get(f"{base_url}/NOCERT_SMS_DP_SMSPKG$/PS100011/content.bin").status_code == 200
        served = pki_client.get(f"{base_url}{FILE}")
        assert served.status_code == 200 and len(served.content) > 0

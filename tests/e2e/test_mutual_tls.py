"""PKI client authentication on the CMG's MutualAuth path, over real TLS: an enrolled certificate is
forwarded, no certificate is refused, and a certificate from another CA fails the TLS handshake."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trustme

from harness.environments.local import LocalEnvironment
from harness.net.http import make_client
from harness.net.tls import ClientCertIssuer, ServerCert, TestPKI


@pytest.fixture
def env(module_environment: LocalEnvironment) -> LocalEnvironment:
    return module_environment


def mplist_via_cmg(env: LocalEnvironment, cert: tuple[Path, Path] | None) -> httpx.Response:
    hosts = env.endpoints.hosts("internet")
    with make_client(hosts, env.endpoints.ca_cert, timeout=10, cert=cert) as http:
        return http.get(f"{env.endpoints['cmg'].url}/SMS_MP/.sms_aut?MPLIST")


def test_an_enrolled_client_certificate_is_forwarded_to_the_management_point(env: LocalEnvironment,
                                                                             tmp_path: Path) -> None:
    workdir = env.workdir
    assert workdir is not None
    issuer = ServerCert(workdir / "pki" / "enrollment-ca.pem", workdir / "pki" / "enrollment-ca.key")
    cert = ClientCertIssuer(issuer, tmp_path).issue("CLIENT99")
    response = mplist_via_cmg(env, (cert.cert_path, cert.key_path))
    assert response.status_code == 200 and "<MPList>" in response.text, response.text


def test_no_certificate_is_refused_and_not_forwarded(env: LocalEnvironment) -> None:
    response = mplist_via_cmg(env, None)
    assert response.status_code == 403 and "PKI client authentication certificate" in response.text


def test_a_certificate_from_another_ca_fails_the_handshake(env: LocalEnvironment, tmp_path: Path) -> None:
    stranger = TestPKI(trustme.CA(organization_name="Not the site's CA"), tmp_path).issue_client_cert("CLIENT98")
    # With TLS 1.3 the server checks the client's certificate after the client thinks the handshake is done,
    # so the refusal shows as a dropped connection rather than a handshake error: either way, no answer.
    with pytest.raises((httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError)):
        mplist_via_cmg(env, (stranger.cert_path, stranger.key_path))

"""An HTTPS distribution point (site config `https_dps`): without a PKI client certificate its content and
signature vdirs answer 403.7 whatever the path names, as IIS refuses before the DP's handler runs; the
cert-less and token vdirs still serve (docs/distribution-point.md). In-process no request carries a
certificate; tests/e2e/test_dp_client_certificate.py presents one over real TLS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from harness.clock.model_clock import ModelClock
from harness.emulators.site.app import create_app as create_site
from harness.net.tls import TestPKI
from harness.service.configs import SiteServiceConfig

MakeToken = Callable[..., str]
MP_FQDN = "cm01.corp.contoso.example"
BRANCH_FQDN = "dp02.branch.contoso.example"
PACKAGE = "PS100011"
FILE = f"{PACKAGE}/content.bin"


def config(pki: TestPKI, clock: ModelClock, key: bytes, **extra: Any) -> SiteServiceConfig:
    return SiteServiceConfig.from_json({
        "tls": {"ca": str(pki.ca_cert_path)}, "clock": clock.to_json(), "key": key.hex(), "site_code": "PS1",
            "version": 2002, "mp_fqdn": MP_FQDN, "mp_port": 443, "cloud_sources": [],
            "other_dps": [{"name": "dp2", "fqdn": BRANCH_FQDN}], **extra})


@pytest.fixture
def site(pki: TestPKI, clock: ModelClock, key: bytes) -> Iterator[TestClient]:
    """The site's own DP in HTTPS mode, the branch DP dp2 not; a package on both."""
    with TestClient(create_site(config(pki, clock, key, https_dps=["dp"])), raise_server_exceptions=False) as client:
        assert client.put(f"/_harness/site/packages/{PACKAGE}", json={"name": "p", "size": "1 MB"}).status_code == 200
        assert client.post(f"/_harness/site/packages/{PACKAGE}/distribute",
                           json={"to": ["dp", "dp2"]}).status_code == 200
        yield client


@pytest.mark.parametrize(("method", "path"), [
    ("GET", f"/SMS_DP_SMSPKG$/{FILE}"), ("GET", f"/sms_dp_smspkg$/{PACKAGE}"), ("GET", "/SMS_DP_SMSPKG$/Datalib"),
    ("HEAD", "/SMS_DP_SMSPKG$/Datalib"), ("PROPFIND", f"/SMS_DP_SMSPKG$/{PACKAGE}"),
    ("GET", "/sms_dp_smspkg$/AbCdEfGh"), ("GET", "/SMS_DP_SMSPKG$/PS1FFFFF/x.bin"),
    ("GET", f"/SMS_DP_SMSSIG$/{PACKAGE}.1.tar"),
], ids=["file", "package", "datalib", "datalib-head", "propfind", "random8", "unknown-package", "signature"])
def test_without_a_client_certificate_an_https_dp_answers_403_7(site: TestClient, method: str, path: str) -> None:
    """403, not 404 even for a package it does not hold: SCCMSecrets' anonymous-access probe (a random
    8-letter package) then reads neither "anonymous" (404) nor "authentication required" (401)."""
    response = site.request(method, path)
    assert response.status_code == 403, response.text
    if method != "HEAD":
        assert "403.7" in response.text and "client certificate" in response.text
        assert MP_FQDN in response.text and "CCMTOKENAUTH_SMS_DP_SMS" in response.text
        assert ("NOCERT_SMS_DP_SMSPKG$" in response.text) == ("SMSPKG" in path.upper())


@pytest.mark.parametrize(("path", "headers"), [
    (f"/NOCERT_SMS_DP_SMSPKG$/{FILE}", {}), ("/NOCERT_SMS_DP_SMSPKG$/Datalib", {}),
    (f"/CCMTOKENAUTH_SMS_DP_SMSPKG$/{FILE}", {"authorization": "ccm"}),
    (f"/CCMTOKENAUTH_SMS_DP_SMSSIG$/{PACKAGE}.1.tar", {"authorization": "ccm"}),
], ids=["nocert-file", "nocert-datalib", "token-file", "token-signature"])
def test_the_cert_less_and_token_vdirs_serve_without_a_certificate(site: TestClient, make_token: MakeToken,
                                                                   path: str, headers: dict[str, str]) -> None:
    headers = {name: f"Bearer {make_token(value)}" for name, value in headers.items()}
    assert site.get(path, headers=headers).status_code == 200


def test_a_dp_not_in_https_mode_serves_without_a_certificate(site: TestClient) -> None:
    assert site.get(f"/SMS_DP_SMSPKG$/{FILE}", headers={"host": BRANCH_FQDN}).status_code == 200
    assert site.get(f"/SMS_DP_SMSPKG$/{FILE}").status_code == 403  # the same process, the site's own DP


@pytest.mark.parametrize(("extra", "words"), [
    ({"https_dps": ["dp3"]}, ["'dp3'", "not an on-premises distribution point", "dp, dp2"]),
    ({"https_dps": "dp"}, ['field "https_dps"', 'should be "list"']),
    ({"https_dps": ["dp"], "tls": "server"}, ["tls.client_certificates", "never sees a client certificate"]),
], ids=["unknown-dp", "not-a-list", "tls-without-client-certificates"])
def test_a_configuration_that_cannot_work_is_refused_at_start(pki: TestPKI, clock: ModelClock, key: bytes,
                                                              extra: dict[str, Any], words: list[str]) -> None:
    if extra.get("tls") == "server":  # a TLS server that does not ask clients for certificates
        cert = pki.issue_server_cert("site", [MP_FQDN])
        extra = {**extra, "tls": {"ca": str(pki.ca_cert_path), "cert": str(cert.cert_path), "key": str(cert.key_path)}}
    with pytest.raises(ValueError) as refused:
        create_site(config(pki, clock, key, **extra))
    for word in words:
        assert word in str(refused.value)

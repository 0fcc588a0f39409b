"""The site, CMG and client agent apps built in-process, with configs shaped like LocalEnvironment.service_configs.

Every network peer an app could reach (storage account, management point behind the CMG, the site a
client talks to) is a closed port: a contract test must get its answer without any of them.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from harness.client.agent import create_app as create_agent
from harness.clock.model_clock import ModelClock
from harness.emulators.cmg.app import create_app as create_cmg
from harness.emulators.site.app import create_app as create_site
from harness.environments.azurite import generate_account_key
from harness.model.units import Scale
from harness.net.tls import TestPKI
from harness.protocol.tokens import Token, sign_token
from harness.service.configs import AgentServiceConfig, CmgServiceConfig, SiteServiceConfig
from tests.contract.dp_requests import stock
from tests.contract.site_requests import DEPLOYMENT, PACKAGE, TASK_SEQUENCE

SITE_CODE = "PS1"
MP_FQDN = "cm01.corp.contoso.example"
CMG_FQDN = "cmg.contoso.example"
CMG_ID = "72186325152220500"
ACCOUNT = "contosocmgcontent"

MakeToken = Callable[..., str]


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def closed_port() -> Iterator[int]:
    """A port bound but never listening: connecting to it is refused at once, on any machine."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def clock() -> ModelClock:
    return ModelClock.starting_now(Scale(5000))


@pytest.fixture
def key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def make_token(clock: ModelClock, key: bytes) -> MakeToken:
    """make_token(kind, subject="CLIENT01", claims=(), key=…, valid_from=-1 h, valid_for=8 h) in model time."""

    def make(kind: str, subject: str = "CLIENT01", claims: tuple[tuple[str, str], ...] = (), *,
             key: bytes = key, valid_from: timedelta = timedelta(hours=-1),
             valid_for: timedelta = timedelta(hours=8)) -> str:
        issued = clock.now() + valid_from
        return sign_token(Token(kind, subject, issued, issued + valid_for, claims), key)

    return make


def _account(closed_port: int) -> dict[str, str]:
    return {"name": ACCOUNT, "key": generate_account_key(),
            "endpoint": f"https://127.0.0.1:{closed_port}/{ACCOUNT}",
            "public_endpoint": f"https://{ACCOUNT}.blob.core.example:{closed_port}"}


def site_config(pki: TestPKI, clock: ModelClock, key: bytes, cloud_sources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"tls": {"ca": str(pki.ca_cert_path)}, "clock": clock.to_json(), "key": key.hex(),
            "site_code": SITE_CODE, "version": 2002, "mp_fqdn": MP_FQDN, "mp_port": 443,
            "cloud_sources": cloud_sources}


@pytest.fixture
def site(pki: TestPKI, clock: ModelClock, key: bytes) -> Iterator[TestClient]:
    """A site with only its own DP: nothing it does needs the network."""
    app = create_site(SiteServiceConfig.from_json(site_config(pki, clock, key, cloud_sources=[])))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def stocked_site(site: TestClient) -> TestClient:
    """A package on the site's DP, a task sequence that uses it, and an available deployment of it."""
    for path, body in ((f"/_harness/site/packages/{PACKAGE}", {"name": "Windows 11", "size": "3.2 GB",
                                                                 "type": "OS upgrade package"}),
                       (f"/_harness/site/task-sequences/{TASK_SEQUENCE}",
                        {"name": "Upgrade", "steps": [{"name": "Upgrade", "action": "Upgrade Operating System",
                                                       "package": PACKAGE}]}),
                       (f"/_harness/site/deployments/{DEPLOYMENT}", {"task_sequence": TASK_SEQUENCE})):
        assert site.put(path, json=body).status_code == 200
    assert site.post(f"/_harness/site/packages/{PACKAGE}/distribute", json={"to": ["dp"]}).status_code == 200
    return site


@pytest.fixture
def dp(site: TestClient) -> TestClient:
    """The site's DP stocked by tests/contract/dp_requests.py's stock() (test_dp_tools.py and test_faults.py stock
    their own)."""
    return stock(site)


@pytest.fixture
def site_with_cmg(pki: TestPKI, clock: ModelClock, key: bytes, closed_port: int) -> Iterator[TestClient]:
    """A site whose content-enabled CMG has a storage account nobody answers for."""
    cmg = {"name": "cmg", "kind": "cmg", "fqdn": CMG_FQDN, "port": 443, "serve_content": True,
           "storage": _account(closed_port)}
    app = create_site(SiteServiceConfig.from_json(site_config(pki, clock, key, cloud_sources=[cmg])))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def cmg(pki: TestPKI, clock: ModelClock, key: bytes, closed_port: int) -> Iterator[TestClient]:
    """A CMG whose management point and storage account are both closed ports."""
    config = {"tls": {"ca": str(pki.ca_cert_path)}, "clock": clock.to_json(), "key": key.hex(),
              "cmg_id": CMG_ID, "mp_url": f"https://{MP_FQDN}:{closed_port}", "hosts": {MP_FQDN: "127.0.0.1"},
              "storage": _account(closed_port)}
    with TestClient(create_cmg(CmgServiceConfig.from_json(config)), raise_server_exceptions=False,
                    base_url=f"https://{CMG_FQDN}") as client:
        yield client


@pytest.fixture
def agent(pki: TestPKI, clock: ModelClock, closed_port: int, tmp_path: Path) -> Iterator[TestClient]:
    hosts = {MP_FQDN: "127.0.0.1", CMG_FQDN: "127.0.0.1"}
    enrollment = pki.enrollment_ca()
    config = {"tls": {"ca": str(pki.ca_cert_path)}, "clock": clock.to_json(), "workdir": str(tmp_path / "clients"),
              "enrollment": {"cert": str(enrollment.cert_path), "key": str(enrollment.key_path)},
              "zones": {"internet": {CMG_FQDN: "127.0.0.1"}, "intranet": hosts},
              "endpoints": {"site_code": SITE_CODE, "mp_url": f"https://{MP_FQDN}:{closed_port}",
                            "cmg_url": f"https://{CMG_FQDN}:{closed_port}/CCM_Proxy_MutualAuth/{CMG_ID}"}}
    with TestClient(create_agent(AgentServiceConfig.from_json(config)), raise_server_exceptions=False) as client:
        yield client
        client.post("/_harness/reset")  # stops runs, closes the clients' connections, removes their files

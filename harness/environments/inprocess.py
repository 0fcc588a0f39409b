"""The emulator apps in one process, for contract tests: the same configurations as `local`, no sockets.

The site, CMG and cloud DP are built from the configurations `LocalEnvironment` hands its processes and
driven through Starlette's TestClient, one per service name; the CMG reaches the management point
through an ASGI transport straight into the site app. Only Azure storage is a real server (Azurite),
because the content service and the site's uploads speak to it with the Azure SDK.

What needs a TLS handshake cannot be checked here — the MutualAuth path sees no client certificate —
so contract tests that need one run against the `local` environment only.
There is no storage front either: a manifest's SAS URLs, signed in model time, name Azurite itself, which
checks them against the real clock and refuses them. Contract tests here read manifests, not blobs.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from starlette.testclient import TestClient

from harness.emulators.clouddp.app import create_app as create_clouddp
from harness.emulators.cmg.app import create_app as create_cmg
from harness.emulators.site.app import create_app as create_site
from harness.environments.azurite import generate_account_key
from harness.environments.base import Endpoints
from harness.environments.local import LocalEnvironment
from harness.net.tls import TestPKI

# Ports the in-process services claim to listen on: nothing listens, so make them the real ones.
HTTPS_PORT = 443


@contextmanager
def in_process_stack(scale: float | None = None) -> Iterator[tuple[Endpoints, dict[str, TestClient]]]:
    """(endpoints, {"mp"|"branch_dp"|"peer"|"cmg"|"clouddp": TestClient}); Azurite stopped and files removed after."""
    env = LocalEnvironment(scale=scale)
    workdir = Path(tempfile.mkdtemp(prefix="cmg-harness-inprocess-"))
    try:
        with ExitStack() as stack:
            stack.callback(env.down)
            yield _build(env, workdir, stack)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _build(env: LocalEnvironment, workdir: Path, stack: ExitStack) -> tuple[Endpoints, dict[str, TestClient]]:
    topo = env.topology
    pki = TestPKI.create(workdir / "pki")
    (workdir / "logs").mkdir()
    keys = {topo.cmg_account: generate_account_key(), topo.clouddp_account: generate_account_key()}
    ports = {name: HTTPS_PORT for name in ("site", "cmg", "clouddp", "client")}
    ports["storage"] = env.start_azurite(pki, workdir, keys)
    endpoints = env.endpoints_for(ports, pki.ca_cert_path)
    configs = env.service_configs(endpoints, pki, workdir, keys)
    site = create_site(configs.site)
    to_site = httpx.AsyncClient(transport=httpx.ASGITransport(app=site), base_url=endpoints["mp"].base)
    apps = {"mp": site, "branch_dp": site, "peer": site, "cmg": create_cmg(configs.cmg, upstream=to_site),
            "clouddp": create_clouddp(configs.clouddp)}
    clients = {name: stack.enter_context(TestClient(app, base_url=endpoints[name].base,
                                                     raise_server_exceptions=False))
               for name, app in apps.items()}
    return endpoints, clients

"""Fixtures shared by the harness's own tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from harness.client.identity import new_signing_identity
from harness.environments.local import LocalEnvironment
from harness.protocol.registration import RegistrationRequest, build_registration_request, sign_request


@pytest.fixture(scope="module")
def module_environment() -> Iterator[LocalEnvironment]:
    """A real local environment for one test module; stopped even when a test fails or is interrupted."""
    with LocalEnvironment() as env:
        yield env


SeedUpgrade = Callable[..., None]


@pytest.fixture
def seed_upgrade() -> SeedUpgrade:
    """seed_upgrade(site_client, allow_internet=True): one OS upgrade package on the site server's DP, a task
    sequence that upgrades with it on demand, deployed as PS120001 — through the site's admin API."""

    def seed(site: Any, *, allow_internet: bool = True) -> None:
        site.put("/_harness/site/packages/PS100011", json={"name": "Windows 11", "size": "3.2 GB",
                                                             "type": "OS upgrade package"}).raise_for_status()
        site.post("/_harness/site/packages/PS100011/distribute", json={"to": ["dp"]}).raise_for_status()
        site.put("/_harness/site/task-sequences/PS100010", json={"name": "Upgrade", "steps": [
            {"name": "Upgrade Operating System", "action": "Upgrade Operating System", "package": "PS100011",
             "duration": "40 minutes"}]}).raise_for_status()
        site.put("/_harness/site/deployments/PS120001", json={
            "task_sequence": "PS100010", "option": "Download content locally when needed by the running task sequence",
            "allow_internet": allow_internet}).raise_for_status()

    return seed


RegistrationBody = Callable[..., str]


@pytest.fixture(scope="session")
def registration_body() -> RegistrationBody:
    """registration_body("CLIENT01", internet=False): a ClientRegistrationRequest signed with a self-signed
    certificate, as a client sends it to MP_ClientRegistration."""
    identity = new_signing_identity("harness-tests", datetime.now(UTC))

    def build(name: str = "CLIENT01", *, internet: bool = False) -> str:
        request = RegistrationRequest(name, f"{name}.corp.contoso.example", internet, "2026-11-02T08:00:00Z",
                                      identity.certificate_hex, identity.certificate_hex)
        return build_registration_request(sign_request(request, identity.key))

    return build

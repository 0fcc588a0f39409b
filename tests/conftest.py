"""Fixtures shared by the harness's own tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.environments.local import LocalEnvironment


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

"""The Docker engine the tests in this folder need; they skip, saying how to get one, when none answers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

docker = pytest.importorskip("docker", reason="the docker SDK comes with testcontainers: pip install -e .[dev]")


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://") and not Path(host.removeprefix("unix://")).exists():
        # Said here, not by the SDK: it leaks the socket it failed to connect, and the ResourceWarning the garbage
        # collector raises later fails whichever test happens to be running.
        pytest.skip(f"no Docker engine answers ({host} does not exist): run scripts/docker-engine")
    client = docker.from_env()
    try:
        client.ping()
    except Exception as error:
        client.close()
        pytest.skip(f"no Docker engine answers ({error}): run scripts/docker-engine")
    yield client
    client.close()

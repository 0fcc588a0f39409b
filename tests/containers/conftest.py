"""The Docker engine the tests in this folder need; they skip, saying how to get one, when none answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

docker = pytest.importorskip("docker", reason="the docker SDK comes with testcontainers: pip install -e .[dev]")

from harness.environments.docker_engine import EngineUnavailable, open_engine  # noqa: E402


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    try:
        client = open_engine()
    except EngineUnavailable as error:
        pytest.skip(f"no Docker engine answers ({error}): run scripts/docker-engine")
    yield client
    client.close()

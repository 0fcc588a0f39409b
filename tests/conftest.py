"""Fixtures shared by the harness's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.environments.local import LocalEnvironment


@pytest.fixture(scope="module")
def module_environment() -> Iterator[LocalEnvironment]:
    """A real local environment for one test module; stopped even when a test fails or is interrupted."""
    with LocalEnvironment() as env:
        yield env

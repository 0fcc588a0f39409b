"""Ryuk is used only where it can work: its image is here and the engine has a bridge network for its port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

pytest.importorskip("testcontainers", reason="testcontainers comes with the dev extra: pip install -e .[dev]")

from testcontainers.core.config import testcontainers_config

from harness.environments.containers import _configure_testcontainers


@dataclass
class FakeImages:
    present: bool

    def get(self, name: str) -> str:
        if not self.present:
            raise LookupError(f"No such image: {name}")
        return name


@dataclass
class FakeNetworks:
    bridge: bool

    def list(self, names: list[str]) -> list[str]:
        return ["bridge"] if self.bridge and names == ["bridge"] else []


@dataclass
class FakeEngine:
    images: FakeImages
    networks: FakeNetworks


@pytest.fixture(autouse=True)
def ryuk_setting() -> Iterator[None]:
    saved = testcontainers_config.ryuk_disabled
    testcontainers_config.ryuk_disabled = False
    yield
    testcontainers_config.ryuk_disabled = saved


@pytest.mark.parametrize(("image", "bridge", "disabled"), [
    (True, True, False), (False, True, True), (True, False, True), (False, False, True)])
def test_ryuk_only_with_its_image_and_a_bridge(image: bool, bridge: bool, disabled: bool) -> None:
    _configure_testcontainers(FakeEngine(FakeImages(image), FakeNetworks(bridge)))
    assert testcontainers_config.ryuk_disabled is disabled

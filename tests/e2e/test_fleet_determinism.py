"""A fleet on the virtual clock gives the same timeline, client for client, every time it runs with the same seed,
even where its requests contend for the CMG's places and one file: what is due together goes out in a fixed
order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.drivers.cmg import CmgDriver
from harness.drivers.fleet import FleetDriver
from harness.drivers.site import SiteDriver
from harness.environments.local import LocalEnvironment
from harness.load.prepare import PACKAGE, deploy_package

pytestmark = pytest.mark.fleet


@pytest.fixture(scope="module")
def environment() -> Iterator[LocalEnvironment]:
    with LocalEnvironment(clock_mode="virtual") as env:
        yield env


def _timeline(env: LocalEnvironment) -> list[tuple[str, float | None, float]]:
    env.reset()
    deploy_package(SiteDriver(env.http, env.endpoints["mp"].control_base), "100 MB")
    CmgDriver(env.http, env.endpoints["cmg"].control_base).set_deployment(vms=1, vm_size="Lab (B2s)")
    fleets = FleetDriver(env.http, env.endpoints["client"].control_base)
    fleets.start({"name": "SAME", "clients": 600, "waves": {"size": 200, "every_s": 600, "spread_s": 60},
                  "packages": [{"id": PACKAGE, "version": 1}], "seed": 3})
    result = fleets.wait("SAME", 120)
    return [(o.name, o.step_start_s, o.cmg_wait_s) for o in result.outcomes]


def test_the_same_seed_gives_the_same_timeline_client_for_client(environment: LocalEnvironment) -> None:
    first, second = _timeline(environment), _timeline(environment)
    assert len(first) == 600 and all(step is not None for _, step, _ in first)
    assert max(wait for _, _, wait in first) > 2.0  # the 10 places were contended: some clients waited
    assert second == first

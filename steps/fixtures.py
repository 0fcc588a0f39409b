"""Fixtures the steps share: one environment per test session, reset before every scenario."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from harness.drivers.agent import AgentDriver
from harness.drivers.base import ServiceDriver
from harness.drivers.clouddp import CloudDpDriver
from harness.drivers.cmg import CmgDriver
from harness.drivers.site import SiteDriver
from harness.emulators.control import DELIBERATE, FAULT
from harness.environments.base import Endpoints
from harness.environments.local import LocalEnvironment
from harness.reporting.pytest_plugin import record_environment
from steps.task_sequence_table import build_tree


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cmg-harness")
    group.addoption("--scale", type=float, default=None,
                    help="model units per physical byte and second (default: environments/local.toml)")
    group.addoption("--keep-environment-files", action="store_true",
                    help="keep the environment's working folder (service logs, certificates) after the run")


def pytest_bdd_apply_tag(tag: str, function: object) -> bool | None:
    """`@matrix:<capability>` names the capability-matrix row a scenario exercises (see cmg-harness matrix)."""
    if tag.startswith("matrix:"):
        pytest.mark.capability(tag.split(":", 1)[1])(function)
        return True
    return None


@pytest.fixture(scope="session")
def harness_environment(request: pytest.FixtureRequest) -> Iterator[LocalEnvironment]:
    """Started once per session (per xdist worker); stopped even when the session fails or is interrupted."""
    env = LocalEnvironment(scale=request.config.getoption("--scale"),
                           keep_workdir=request.config.getoption("--keep-environment-files"))
    try:
        env.up()
        record_environment(request.config, {"name": env.name, "scale": env.factor,
                                            "start_s": round(env.timings["start_s"], 3)})
        yield env
    finally:
        env.down()


@pytest.fixture
def environment(harness_environment: LocalEnvironment) -> Iterator[LocalEnvironment]:
    """Reset before each scenario; afterwards fail on any server error, even one no step looked at."""
    harness_environment.reset()
    yield harness_environment
    errors = {name: [e for e in driver.journal() if int(e["status"]) >= 500
                     and not str(e["note"]).startswith((DELIBERATE, FAULT))]
              for name, driver in _drivers(harness_environment).items()}
    errors = {name: found for name, found in errors.items() if found}
    assert not errors, f"services answered with server errors: {errors}"


def _drivers(env: LocalEnvironment) -> dict[str, ServiceDriver]:
    return {"site": SiteDriver(env.http, env.endpoints["mp"].control_base),
            "cmg": CmgDriver(env.http, env.endpoints["cmg"].control_base),
            "clouddp": CloudDpDriver(env.http, env.endpoints["clouddp"].control_base),
            "client": AgentDriver(env.http, env.endpoints["client"].control_base)}


@pytest.fixture
def endpoints(environment: LocalEnvironment) -> Endpoints:
    return environment.endpoints


@pytest.fixture
def site(environment: LocalEnvironment) -> SiteDriver:
    return SiteDriver(environment.http, environment.endpoints["mp"].control_base)


@pytest.fixture
def cmg(environment: LocalEnvironment) -> CmgDriver:
    return CmgDriver(environment.http, environment.endpoints["cmg"].control_base)


@pytest.fixture
def clouddp(environment: LocalEnvironment) -> CloudDpDriver:
    return CloudDpDriver(environment.http, environment.endpoints["clouddp"].control_base)


@pytest.fixture
def agent(environment: LocalEnvironment) -> AgentDriver:
    return AgentDriver(environment.http, environment.endpoints["client"].control_base)


@dataclass
class TaskSequenceSpec:
    """The task sequence a scenario builds up over its Given steps; publish() (re)defines it on the site."""

    package_id: str
    name: str = "Upgrade to Windows 11"
    packages: dict[str, dict[str, str]] = field(default_factory=dict)  # package ID -> its table row
    step_rows: list[dict[str, str]] = field(default_factory=list)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    boot_image: str = ""
    deployment_id: str | None = None

    def publish(self, site: SiteDriver) -> None:
        if self.step_rows:
            site.define_task_sequence(self.package_id, self.name, build_tree(self.step_rows, self.groups),
                                      self.variables, self.boot_image)

    def step_packages(self, row: dict[str, str]) -> list[str]:
        return [p.strip() for p in (row.get("package") or "").split(",") if p.strip()]

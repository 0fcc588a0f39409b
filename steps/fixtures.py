"""Fixtures the steps share: one environment per test session, reset before every scenario."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from harness.clock.actor import Actor, NoActor
from harness.clock.model_clock import CLOCK_MODES
from harness.drivers.agent import AgentDriver
from harness.drivers.base import ServiceDriver
from harness.drivers.clouddp import CloudDpDriver
from harness.drivers.cmg import CmgDriver
from harness.drivers.fleet import FleetDriver
from harness.drivers.network import NetworkDriver
from harness.drivers.site import SiteDriver
from harness.environments import select
from harness.environments.base import CONTROL, FAULTS, Endpoints, Environment
from harness.reporting import behaviours
from harness.reporting.attach import label_environment
from harness.reporting.pytest_plugin import record_environment
from steps.task_sequence_table import build_tree

# A run of the suite's task sequences takes about a second of real time; this only stops a hung run from hanging
# the suite, it is not a timing assertion.
RUN_TIMEOUT_S = 120.0

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cmg-harness")
    group.addoption("--scale", type=float, default=None,
                    help="model units per physical byte and second (default: environments/local.toml)")
    group.addoption("--keep-environment-files", action="store_true",
                    help="keep the environment's working folder (service logs, certificates) after the run")
    group.addoption("--env", default="local", metavar="local|containers|external[=FILE]",
                    help="where the services run: processes (local, the default), containers, or the endpoints of "
                         "an external environment file (default environments/external.toml)")
    group.addoption("--clock", default=None, choices=CLOCK_MODES,
                    help="model time: virtual (jumps to the next wake-up whenever every actor waits) or real "
                         f"(real time × scale); default {select.DEFAULT_CLOCK} on local and containers, always real "
                         "on an external environment")


def pytest_configure(config: pytest.Config) -> None:
    """A bad --env fails the run at once, naming what was wrong, not at the first scenario."""
    try:
        config.stash[_SPEC] = select.parse_spec(config.getoption("--env"))
    except ValueError as error:
        raise pytest.UsageError(f"--env: {error}") from None
    if config.stash[_SPEC].kind == "external" and config.getoption("--clock") == "virtual":
        raise pytest.UsageError("--clock virtual: an external environment keeps real time (its services do)")


_SPEC = pytest.StashKey[select.EnvironmentSpec]()


def pytest_bdd_apply_tag(tag: str, function: object) -> bool | None:
    """`@matrix:<capability>` names the capability-matrix row a scenario exercises (see cmg-harness matrix);
    `@scale:<factor>` runs the scenario in an environment at that scale, `@clock:<real|virtual>` in one on that
    clock; `@behaviour:<B-xx>` names a documented product behaviour the scenario exercises (docs/behaviour.md)."""
    if tag.startswith("matrix:"):
        pytest.mark.capability(tag.split(":", 1)[1])(function)
        return True
    if tag.startswith("scale:"):
        pytest.mark.scale(float(tag.split(":", 1)[1]))(function)
        return True
    if tag.startswith("clock:"):
        mode = tag.split(":", 1)[1]
        if mode not in CLOCK_MODES:
            raise ValueError(f"@{tag}: the clock is real or virtual")
        pytest.mark.clock(mode)(function)
        return True
    if tag.startswith(behaviours.TAG_PREFIX):
        behaviour = tag.removeprefix(behaviours.TAG_PREFIX)
        if not behaviours.is_behaviour_id(behaviour):
            raise ValueError(f"@{tag}: a behaviour is named B-<two or more digits>, as in docs/behaviour.md")
        pytest.mark.behaviour(behaviour)(function)
        return True
    return None


class EnvironmentPool:
    """One environment per scale and clock, started when a scenario first needs it and stopped at the end.

    Scenarios whose faults do not wait on the virtual clock yet run on the real clock (`@clock:real`), at a
    lower scale for timing (`@scale:250`): one real millisecond of scheduling noise is 5 model seconds at the
    default 5000, a twentieth of that at 250. Starting a second environment costs about as much as the first
    (1.5 s locally), once per session. An external environment runs at the one scale its services were started
    with, on the real clock: scenarios at another scale are skipped there.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.spec = config.stash[_SPEC]
        self.default_scale = config.getoption("--scale")
        self.default_clock = config.getoption("--clock")
        self._environments: dict[tuple[float | None, str | None], Environment] = {}

    def get(self, scale: float | None = None, clock: str | None = None) -> Environment:
        key = (scale if scale is not None else self.default_scale, clock or self.default_clock)
        if self.spec.kind == "external":
            return self._external(key[0])
        if key not in self._environments:
            self._environments[key] = self._start(*key)
        return self._environments[key]

    def _external(self, scale: float | None) -> Environment:
        if (None, None) not in self._environments:
            self._environments[None, None] = self._start(None, None)
        env = self._environments[None, None]
        if scale is not None and scale != env.model_scale.factor:
            pytest.skip(f"runs at scale {scale:g}; the external environment's services run at scale "
                        f"{env.model_scale.factor:g}")
        return env

    def _start(self, scale: float | None, clock: str | None) -> Environment:
        env = select.create(self.spec, scale=scale, keep_workdir=self.config.getoption("--keep-environment-files"),
                            clock=clock)
        env.up()
        record_environment(self.config, {"name": env.name, "scale": env.model_scale.factor,
                                         "clock": env.endpoints.clock, "start_s": round(env.timings["start_s"], 3)})
        return env

    def stop(self) -> None:
        for env in self._environments.values():
            env.down()


@pytest.fixture(scope="session")
def environment_pool(request: pytest.FixtureRequest) -> Iterator[EnvironmentPool]:
    """Started lazily, per session (per xdist worker); every environment stopped even when the session fails or
    is interrupted."""
    pool = EnvironmentPool(request.config)
    try:
        yield pool
    finally:
        pool.stop()


@pytest.fixture
def harness_environment(environment_pool: EnvironmentPool, request: pytest.FixtureRequest) -> Environment:
    """The environment this scenario runs in: the session's default one, or the one at its `@scale:`. Skipped,
    with the reason, where the environment cannot do what the scenario needs."""
    scale, clock = request.node.get_closest_marker("scale"), request.node.get_closest_marker("clock")
    env = environment_pool.get(float(scale.args[0]) if scale else None, str(clock.args[0]) if clock else None)
    if CONTROL not in env.capabilities:
        pytest.skip(f"the {env.name} environment has no control API: this scenario defines the site's task "
                    "sequences, content and deployments through it")
    if request.node.get_closest_marker("faults") and FAULTS not in env.capabilities:
        pytest.skip(f"the {env.name} environment has no fault API (@faults scenarios inject HTTP or network faults)")
    label_environment(env.name)
    return env


@pytest.fixture
def environment(harness_environment: Environment) -> Iterator[Environment]:
    """Reset before each scenario; afterwards fail on any server error, even one no step looked at."""
    harness_environment.reset()
    yield harness_environment
    _check_server_errors(harness_environment)


@pytest.fixture
def scenario_clock(environment: Environment) -> Iterator[Actor | NoActor]:
    """The scenario as an actor of a virtual clock: busy (time stands still) while its steps set things up,
    idle while it waits for runs to end. A no-op on the real clock."""
    with environment.model_clock.join("scenario") as actor:
        yield actor


def _check_server_errors(harness_environment: Environment) -> None:
    drivers = _drivers(harness_environment)
    with ThreadPoolExecutor(len(drivers)) as pool:  # side by side: this runs after every scenario
        found = dict(zip(drivers, pool.map(lambda driver: driver.server_errors(), drivers.values()), strict=True))
    errors = {name: entries for name, entries in found.items() if entries}
    assert not errors, f"services answered with server errors: {errors}"


def _drivers(env: Environment) -> dict[str, ServiceDriver]:
    return {"site": SiteDriver(env.http, env.endpoints["mp"].control_base),
            "cmg": CmgDriver(env.http, env.endpoints["cmg"].control_base),
            "clouddp": CloudDpDriver(env.http, env.endpoints["clouddp"].control_base),
            "client": AgentDriver(env.http, env.endpoints["client"].control_base),
            "storage": ServiceDriver(env.http, env.endpoints["storage"].control_base)}


@pytest.fixture
def endpoints(environment: Environment) -> Endpoints:
    return environment.endpoints


@pytest.fixture
def site(environment: Environment) -> SiteDriver:
    return SiteDriver(environment.http, environment.endpoints["mp"].control_base)


@pytest.fixture
def cmg(environment: Environment) -> CmgDriver:
    return CmgDriver(environment.http, environment.endpoints["cmg"].control_base)


@pytest.fixture
def clouddp(environment: Environment) -> CloudDpDriver:
    return CloudDpDriver(environment.http, environment.endpoints["clouddp"].control_base)


@pytest.fixture
def storage(environment: Environment) -> ServiceDriver:
    """Azure storage's front: the fault API and journal in front of Azurite."""
    return ServiceDriver(environment.http, environment.endpoints["storage"].control_base)


@pytest.fixture
def network(environment: Environment) -> NetworkDriver:
    """The fault proxies between clients and services (Toxiproxy's API); reset with the environment."""
    return NetworkDriver(environment.http, environment.endpoints["network"].control_base,
                         environment.endpoints.scale)


@pytest.fixture
def agent(environment: Environment, scenario_clock: Actor | NoActor) -> AgentDriver:
    return AgentDriver(environment.http, environment.endpoints["client"].control_base, clock=scenario_clock)


@pytest.fixture
def fleets(environment: Environment, scenario_clock: Actor | NoActor) -> FleetDriver:
    return FleetDriver(environment.http, environment.endpoints["client"].control_base, clock=scenario_clock)


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
    option: str = ""  # the deployment's Distribution Points option, once deployed

    def publish(self, site: SiteDriver) -> None:
        if self.step_rows:
            site.define_task_sequence(self.package_id, self.name, build_tree(self.step_rows, self.groups),
                                      self.variables, self.boot_image)

    def step_packages(self, row: dict[str, str]) -> list[str]:
        return [p.strip() for p in (row.get("package") or "").split(",") if p.strip()]

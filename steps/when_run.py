"""When steps: the user (or a boot, a deadline, every client of a fleet) starts the task sequence; the step waits
for the run to end."""

from __future__ import annotations

import pytest
from pytest_bdd import parsers, when

from harness.drivers.agent import AgentDriver
from harness.drivers.base import ServiceDriver, ServiceRequestError
from harness.drivers.run import RunResult
from harness.drivers.site import SiteDriver
from harness.reporting.attach import attach_run, attach_service_logs
from harness.reporting.pytest_plugin import record_run
from steps.fixtures import RUN_TIMEOUT_S, TaskSequenceSpec
from steps.task_sequence_table import build_tree
from steps.vocabulary import TARGETS


def _run(agent: AgentDriver, client: str, task_sequence: TaskSequenceSpec, launch: str,
         request: pytest.FixtureRequest, trigger: str = "user") -> RunResult:
    if task_sequence.deployment_id is None:
        raise ValueError("the scenario has not deployed the task sequence yet")
    run_id = agent.install(client, task_sequence.deployment_id, launch, trigger)
    result = agent.wait(client, run_id, RUN_TIMEOUT_S)
    attach_run(result)
    for service in ("site", "cmg"):
        driver: ServiceDriver = request.getfixturevalue(service)
        attach_service_logs(service, driver.logs())
    record_run(request.node, result)
    return result


@when("the user installs the deployment from Software Center", target_fixture="run")
def install_from_software_center(agent: AgentDriver, client: str, task_sequence: TaskSequenceSpec,
                                 request: pytest.FixtureRequest) -> RunResult:
    """Clicks Install in Software Center and waits for the run to end (its logs are attached to the report)."""
    return _run(agent, client, task_sequence, "Software Center", request)


@when(parsers.parse("the task sequence is started from {launch}"), target_fixture="run")
def started_from(agent: AgentDriver, client: str, task_sequence: TaskSequenceSpec, launch: str,
                 request: pytest.FixtureRequest) -> RunResult:
    """Starts the task sequence from PXE, task sequence media or Windows PE and waits for the run to end."""
    return _run(agent, client, task_sequence, launch, request)


@when("the deployment's deadline is reached", target_fixture="run")
def deadline_reached(agent: AgentDriver, client: str, task_sequence: TaskSequenceSpec,
                     request: pytest.FixtureRequest) -> RunResult:
    """execmgr starts the deployment at its deadline, without the user (Required deployments)."""
    return _run(agent, client, task_sequence, "Software Center", request, trigger="deadline")


@when("the client pre-caches the deployment's content", target_fixture="precache")
def precaches(agent: AgentDriver, client: str, task_sequence: TaskSequenceSpec,
              request: pytest.FixtureRequest) -> RunResult:
    """The deployment's available time arrives: the client downloads what it can into ccmcache, runs nothing."""
    return _run(agent, client, task_sequence, "Software Center", request, trigger="pre-cache")


@when(parsers.parse("the administrator distributes {package_id} to {target}"))
def administrator_distributes(site: SiteDriver, package_id: str, target: str) -> None:
    """Distribution while the scenario is under way (e.g. between pre-cache and install)."""
    site.distribute(package_id, *TARGETS(target))


@when(parsers.parse('the administrator adds the step "{step}" running package {package_id}'),
      target_fixture="refusal")
def administrator_adds_step(site: SiteDriver, task_sequence: TaskSequenceSpec, step: str,
                            package_id: str) -> str | None:
    """Tries to add a Run Command Line step with a package to the task sequence; the refusal (or None) is checked."""
    rows = [*task_sequence.step_rows, {"step": step, "action": "Run Command Line", "package": package_id}]
    try:
        site.define_task_sequence(task_sequence.package_id, task_sequence.name,
                                  build_tree(rows, task_sequence.groups), task_sequence.variables)
    except ServiceRequestError as refusal:
        return refusal.reason
    task_sequence.step_rows = rows
    return None


@when("the administrator creates a cloud distribution point", target_fixture="refusal")
def administrator_creates_cloud_dp(site: SiteDriver) -> str | None:
    """Tries to create a traditional cloud DP; the refusal (or None) is what the Then steps check."""
    try:
        site.create_cloud_dp()
    except ServiceRequestError as refusal:
        return refusal.reason
    return None


@when(parsers.re(r'the administrator deploys the task sequence as (?P<purpose>Available|Required) with '
                 r'"(?P<option>[^"]+)"(?: made available to "(?P<availability>[^"]+)")?'
                 r"(?P<pre_download> with pre-download)?$"), target_fixture="refusal")
def administrator_deploys(site: SiteDriver, task_sequence: TaskSequenceSpec, purpose: str, option: str,
                          availability: str | None, pre_download: str | None) -> str | None:
    """Tries a deployment the console may refuse; the refusal (or None) is what the Then steps check."""
    try:
        site.deploy("PS120009", task_sequence.package_id, option=option, purpose=purpose,
                    available_to=availability or "Only Configuration Manager clients",
                    pre_download=bool(pre_download))
    except ServiceRequestError as refusal:
        return refusal.reason
    return None


@when("each client installs the deployment from Software Center", target_fixture="runs")
def each_client_installs(agent: AgentDriver, clients: list[str], task_sequence: TaskSequenceSpec) -> list[RunResult]:
    """Every client clicks Install at once; waits for all the runs to end."""
    if task_sequence.deployment_id is None:
        raise ValueError("the scenario has not deployed the task sequence yet")
    started = [(client, agent.install(client, task_sequence.deployment_id)) for client in clients]
    return [agent.wait(client, run_id, RUN_TIMEOUT_S) for client, run_id in started]

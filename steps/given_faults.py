"""Faults in the content sources, and what the client made of them: retries, fallback, resumed downloads and its
random choice between cloud sources (spec §2.5–2.7).

Faults are HTTP-level, armed through each service's fault API (harness/emulators/faults.py). The Then steps
read the client's timeline (`location.order`, `download.*`) and the services' journals.
"""

from __future__ import annotations

from collections import Counter

import pytest
from pytest_bdd import given, parsers, then, when

from harness.drivers.agent import AgentDriver
from harness.drivers.base import ServiceDriver
from harness.drivers.run import RunResult
from harness.drivers.site import SiteDriver
from harness.emulators.site.models import DP_PACKAGE_VDIR
from harness.environments.base import Endpoints
from harness.model.units import Scale, parse_size
from steps.fixtures import TaskSequenceSpec
from steps.then_outcome import source_host
from steps.when_run import RUN_TIMEOUT_S

CONTENT_SERVICE = "/downloadrestservice.svc/getcontentxmlsecure"
# The fixture of the service behind each cloud source a scenario names.
CLOUD_SERVICES = {"the CMG": "cmg", "the cloud distribution point": "clouddp"}
FAULT_REASON = "fault injected by the scenario"

# -- Given ----------------------------------------------------------------------------------------------


@given(parsers.re(r"(?P<source>the CMG|the cloud distribution point)'s content service fails every request with "
                  r"(?P<status>[45]\d\d)$"))
def content_service_fails(request: pytest.FixtureRequest, source: str, status: str) -> None:
    """Every content request to that source's content service (getcontentxmlsecure) answers the status: 5xx for
    a service that is unavailable, 4xx for one that refuses (404 content not there, 400 a bad request)."""
    driver: ServiceDriver = request.getfixturevalue(CLOUD_SERVICES[source])
    driver.arm_fault(CONTENT_SERVICE, int(status), None, reason=f"content service unavailable ({FAULT_REASON})")


@given(parsers.re(r"the on-premises distribution point fails every request for (?P<package_id>\w+) with "
                  r"(?P<status>5\d\d)$"))
def distribution_point_fails(site: SiteDriver, package_id: str, status: str) -> None:
    """The site's DP answers the status to the package's listing and files."""
    site.arm_fault(f"/{DP_PACKAGE_VDIR}/{package_id}", int(status), None, reason=f"DP unavailable ({FAULT_REASON})")


@given(parsers.re(r"the on-premises distribution point cuts the next download of (?P<package_id>\w+) after "
                  r"(?P<size>[\d.]+ ?[KMGT]B)$"), target_fixture="cut_after_bytes")
def distribution_point_cuts(site: SiteDriver, endpoints: Endpoints, package_id: str, size: str) -> int:
    """The next GET of one of the package's files ends after that much content (model size): a short read."""
    physical = Scale(endpoints.scale).physical_bytes(parse_size(size))
    site.arm_fault(f"/{DP_PACKAGE_VDIR}/{package_id}/", kind="truncate", method="GET", after_bytes=physical,
                   reason=f"connection dropped mid-download ({FAULT_REASON})")
    return physical


@given(parsers.re(r"an (?P<network>internet|intranet) client (?P<name>[A-Z0-9-]+) whose random choices are seeded "
                  r"with (?P<seed>\d+)$"), target_fixture="client")
def client_with_seed(agent: AgentDriver, network: str, name: str, seed: str) -> str:
    """A PKI client whose random draws (which cloud source it tries first) repeat exactly from run to run.

    The draw depends on the client's name, the deployment and the seed: seed 3 has CLIENT31 try the CMG before the
    cloud DP for deployment PS120001 (a Then step that checks the order says so if that ever changes)."""
    agent.create_client(name, network=network, seed=int(seed))
    return name


@given(parsers.re(r"(?P<count>\d+) internet clients$"), target_fixture="clients")
def many_clients(agent: AgentDriver, count: str) -> list[str]:
    """PKI clients CHOICE01, CHOICE02, … on the internet, each with the default seed."""
    names = [f"CHOICE{n:02d}" for n in range(1, int(count) + 1)]
    for name in names:
        agent.create_client(name, network="internet")
    return names


# -- When -----------------------------------------------------------------------------------------------


@when("each client installs the deployment from Software Center", target_fixture="runs")
def each_client_installs(agent: AgentDriver, clients: list[str], task_sequence: TaskSequenceSpec) -> list[RunResult]:
    """Every client clicks Install at once; waits for all the runs to end."""
    if task_sequence.deployment_id is None:
        raise ValueError("the scenario has not deployed the task sequence yet")
    started = [(client, agent.install(client, task_sequence.deployment_id)) for client in clients]
    return [agent.wait(client, run_id, RUN_TIMEOUT_S) for client, run_id in started]


# -- Then -----------------------------------------------------------------------------------------------


@then(parsers.re(r"the client tries (?P<first>.+) first, then (?P<second>.+)$"))
def tries_in_order(run: RunResult, endpoints: Endpoints, first: str, second: str) -> None:
    """The client put the sources in this order, and after the first one failed it fell back to the second."""
    expected = [source_host(endpoints, first), source_host(endpoints, second)]
    for order in run.events("location.order"):
        assert order["order"] == expected, f"the client's order was {order['order']}, not {expected}\n{run.describe()}"
    tried = [e["source"] for e in run.events("download.start")]
    assert tried and list(dict.fromkeys(tried)) == expected, f"sources tried: {tried}\n{run.describe()}"
    fallback = run.first("download.fallback")
    assert [fallback["source"], fallback["next"]] == expected, f"fallback {fallback}"


@then("the client never tries the on-premises distribution point")
def never_tries_dp(run: RunResult, endpoints: Endpoints, site: SiteDriver) -> None:
    """No attempt, no place in the client's order, and not one request to the site's DP vdirs."""
    host = source_host(endpoints, "the on-premises distribution point")
    assert run.events("location.order"), f"the client ordered no locations\n{run.describe()}"
    assert all(host not in e["order"] for e in run.events("location.order")), run.describe()
    assert not run.events("download.start", source=host), f"the DP was tried\n{run.describe()}"
    dp_requests = [e for e in site.journal() if DP_PACKAGE_VDIR.lower() in str(e["path"]).lower()]
    assert not dp_requests, f"the DP was asked: {dp_requests}"


@then(parsers.parse("the client waits {delay:d} seconds before each of the {count:d} retries of {package_id}"))
def waits_before_retries(run: RunResult, delay: int, count: int, package_id: str) -> None:
    """The retries on the timeline: exactly SMSTSDownloadRetryCount of them, each after SMSTSDownloadRetryDelay."""
    retries = run.events("download.retry", package=package_id)
    assert [e["retry"] for e in retries] == list(range(1, count + 1)), f"retries {retries}\n{run.describe()}"
    assert all(e["delay_s"] == delay for e in retries), f"retry delays {[e['delay_s'] for e in retries]}"


@then(parsers.parse("the second attempt at {package_id} asks the on-premises distribution point only for the rest "
                    "of the file"))
def resumed_with_range(run: RunResult, site: SiteDriver, cut_after_bytes: int, package_id: str) -> None:
    """The retry resumed at the byte where the cut left the file, and the DP answered its Range with 206.

    The client's timeline has the offset it resumed at; the site's journal notes the range it served."""
    resume = run.first("download.resume", package=package_id)
    assert resume["offset"] == cut_after_bytes, f"resumed at byte {resume['offset']}, cut after {cut_after_bytes}"
    second = run.events("download.start", package=package_id)[1]
    assert second["t"] <= resume["t"] and second["attempt"] == 2, run.describe()
    files = [e for e in site.journal() if str(e["path"]).startswith(f"/{DP_PACKAGE_VDIR}/{package_id}/")]
    assert [e["status"] for e in files] == [200, 206], f"file requests: {files}"
    assert str(files[1]["note"]).startswith(f"range bytes={cut_after_bytes}-"), f"file requests: {files}"


@then(parsers.parse("{first} and {second} each serve at least {share:d} % of the clients"))
def sources_share_clients(runs: list[RunResult], endpoints: Endpoints, first: str, second: str, share: int) -> None:
    """Every run succeeded from the source it drew first; each source drew at least that share of the clients."""
    hosts = [source_host(endpoints, first), source_host(endpoints, second)]
    served: Counter[str] = Counter()
    for run in runs:
        assert run.status == "succeeded", f"{run.state['client']}: {run.status} {run.reason}\n{run.describe()}"
        chosen = run.first("location.order")["order"][0]
        sources = {d["source"] for d in run.downloads() if d["result"] == "succeeded"}
        assert sources == {chosen}, f"{run.state['client']} drew {chosen} but downloaded from {sources}"
        served[chosen] += 1
    assert set(served) <= set(hosts), f"sources used: {dict(served)}"
    assert all(served[h] * 100 >= share * len(runs) for h in hosts), f"clients per source: {dict(served)}"

"""Faults in the content sources, and what the client made of them: retries, fallback, resumed downloads and its
random choice between cloud sources (B-20, B-31, B-33, B-34).

Faults are HTTP-level, armed through each service's fault API (harness/service/faults.py). The Then steps
read the client's timeline (`location.order`, `download.*`) and the services' journals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from pytest_bdd import given, parsers, then, when

from harness.drivers.agent import AgentDriver
from harness.drivers.base import ServiceDriver
from harness.drivers.faults import Cut, Status
from harness.drivers.run import RunResult
from harness.drivers.site import SiteDriver
from harness.environments.base import Endpoints
from harness.model.units import parse_size
from harness.protocol.content_url import CONTENT_PATH
from harness.protocol.paths import DP_PACKAGE_VDIR
from steps.fixtures import RUN_TIMEOUT_S, TaskSequenceSpec
from steps.vocabulary import CLOUD_SOURCES, named, named_all, source_host

FAULT_REASON = "fault injected by the scenario"

# -- Given ----------------------------------------------------------------------------------------------


@given(parsers.re(r"(?P<source>the CMG|the cloud distribution point)'s content service fails every request with "
                  r"(?P<status>[45]\d\d)$"))
def content_service_fails(request: pytest.FixtureRequest, source: str, status: str) -> None:
    """Every content request to that source's content service (getcontentxmlsecure) answers the status: 5xx for
    a service that is unavailable, 4xx for one that refuses (404 content not there, 400 a bad request)."""
    driver: ServiceDriver = request.getfixturevalue(CLOUD_SOURCES(source))
    driver.arm(CONTENT_PATH, Status(int(status)).unlimited().because(f"content service unavailable ({FAULT_REASON})"))


@given(parsers.re(r"the on-premises distribution point fails every request for (?P<package_id>\w+) with "
                  r"(?P<status>5\d\d)$"))
def distribution_point_fails(site: SiteDriver, package_id: str, status: str) -> None:
    """The site's DP answers the status to the package's listing and files."""
    site.arm(f"/{DP_PACKAGE_VDIR}/{package_id}",
             Status(int(status)).unlimited().because(f"DP unavailable ({FAULT_REASON})"))


@given(parsers.re(r"the on-premises distribution point cuts the next download of (?P<package_id>\w+) after "
                  r"(?P<size>[\d.]+ ?[KMGT]B)$"), target_fixture="cut_after_bytes")
def distribution_point_cuts(site: SiteDriver, endpoints: Endpoints, package_id: str, size: str) -> int:
    """The next GET of one of the package's files ends after that much content (model size): a short read."""
    physical = endpoints.scale.physical_bytes(parse_size(size))
    site.arm(f"/{DP_PACKAGE_VDIR}/{package_id}/",
             Cut(after=physical).on("GET").because(f"connection dropped mid-download ({FAULT_REASON})"))
    return physical


@given(parsers.re(r"an (?P<network>internet|intranet) client (?P<name>[A-Z0-9-]+) whose random choices are seeded "
                  r"with (?P<seed>\d+)$"), target_fixture="client")
def client_with_seed(agent: AgentDriver, network: str, name: str, seed: str) -> str:
    """A PKI client whose random draws (which cloud source it tries first) repeat exactly from run to run.

    The draw depends on the client's name, the deployment and the seed: seed 3 has CLIENT31 try the CMG before the
    cloud DP for deployment PS120001 (a Then step that checks the order says so if that ever changes)."""
    agent.create_client(name, network=network, seed=int(seed))
    return name


@given(parsers.re(r"(?P<count>\d+) (?P<network>internet|intranet) clients"
                  r"(?: named (?P<first_name>[A-Z][A-Z-]*\d+) to (?P<last_name>[A-Z][A-Z-]*\d+))?"
                  r"(?: whose random choices are seeded with (?P<seed>\d+))?$"), target_fixture="clients")
def many_clients(agent: AgentDriver, count: str, network: str, first_name: str | None, last_name: str | None,
                 seed: str | None) -> list[str]:
    """PKI clients named CHOICE01, CHOICE02, … (or FIRST to LAST, numbered as written), each with seed 0 (or the
    one given).

    A client's draws depend on its name, the deployment and the seed, so named and seeded clients repeat their
    draws exactly from run to run."""
    names = client_names(int(count), first_name or "CHOICE01", last_name)
    for name in names:
        agent.create_client(name, network=network, seed=int(seed or 0))
    return names


def client_names(count: int, first: str, last: str | None) -> list[str]:
    """FIRST, its successors, up to LAST: WAVE01 to WAVE20 is WAVE01, WAVE02, …, WAVE20."""
    prefix, number = first.rstrip("0123456789"), first[len(first.rstrip("0123456789")):]
    names = [f"{prefix}{n:0{len(number)}d}" for n in range(int(number), int(number) + count)]
    if last is not None and names[-1] != last:
        raise ValueError(f"{count} clients from {first} end at {names[-1]}, not {last}")
    return names


@given(parsers.parse("the client tries {source} first"))
def client_tries_first(agent: AgentDriver, endpoints: Endpoints, client: str, source: str) -> None:
    """In every content request the client tries that cloud source before the other one, instead of drawing the
    order; the management point's ranking of other sources stays as it is. A scenario's control, not a product
    setting: it saves hunting for a seed, whose draw would change with the client's name or the deployment."""
    CLOUD_SOURCES(source)  # only a cloud source is drawn: anything else is a mistake in the scenario
    agent.set_first_source(client, source_host(endpoints, source))


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
    """For every package, the client put the sources in this order and, after the first one failed, fell back to
    the second."""
    expected = [source_host(endpoints, first), source_host(endpoints, second)]
    orders = run.events("location.order")
    assert orders, f"the client made no content request\n{run.describe()}"
    for order in orders:
        package = order["package"]
        assert order["order"] == expected, (
            f"for {package} the client's order was {named_all(endpoints, order['order'])}, not "
            f"{named_all(endpoints, expected)}\n{run.describe()}")
        tried = [e["source"] for e in run.events("download.start", package=package)]
        assert list(dict.fromkeys(tried)) == expected, (
            f"for {package} the client tried {named_all(endpoints, dict.fromkeys(tried))}\n{run.describe()}")
        fallback = run.first("download.fallback", package=package)
        assert [fallback["source"], fallback["next"]] == expected, (
            f"for {package} the client fell back from {named(endpoints, fallback['source'])} to "
            f"{named(endpoints, fallback['next'])}")


@then("the client never tries the on-premises distribution point")
def never_tries_dp(run: RunResult, endpoints: Endpoints, site: SiteDriver) -> None:
    """No attempt, no place in the client's order, and not one request to the site's DP vdirs."""
    host = source_host(endpoints, "the on-premises distribution point")
    assert run.events("location.order"), f"the client ordered no locations\n{run.describe()}"
    assert all(host not in e["order"] for e in run.events("location.order")), run.describe()
    assert not run.events("download.start", source=host), f"{named(endpoints, host)} was tried\n{run.describe()}"
    dp_requests = [e for e in site.journal() if DP_PACKAGE_VDIR.lower() in str(e["path"]).lower()]
    assert not dp_requests, f"the DP was asked: {dp_requests}"


@then(parsers.parse("the client waits {seconds:d} seconds before each of the {count:d} retries of {package_id}"))
def waits_before_retries(run: RunResult, seconds: int, count: int, package_id: str) -> None:
    """The retries on the timeline: exactly SMSTSDownloadRetryCount of them, each after SMSTSDownloadRetryDelay."""
    retries = run.events("download.retry", package=package_id)
    assert [e["retry"] for e in retries] == list(range(1, count + 1)), f"retries {retries}\n{run.describe()}"
    assert all(e["delay_s"] == seconds for e in retries), f"retry delays {[e['delay_s'] for e in retries]}"


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


@then(parsers.parse("{first} and {second} each serve at least {share:d} % of the content requests"))
def sources_share_requests(runs: list[RunResult], endpoints: Endpoints, first: str, second: str,
                           share: int) -> None:
    """Every run succeeded; each content request (one per package and client) was served by the source the client
    drew first for it, and each source drew at least that share of the requests."""
    hosts = [source_host(endpoints, first), source_host(endpoints, second)]
    served: Counter[str] = Counter()
    for run, package, drawn in _draws(runs):
        sources = {d["source"] for d in run.downloads(package) if d["result"] == "succeeded"}
        assert sources == {drawn}, (f"{run.state['client']} drew {named(endpoints, drawn)} first for {package} but "
                                    f"downloaded it from {named_all(endpoints, sources)}\n{run.describe()}")
        served[drawn] += 1
    per_source = {named(endpoints, host): count for host, count in served.items()}
    assert set(served) <= set(hosts), f"content requests per source: {per_source}"
    total = sum(served.values())
    assert all(served[h] * 100 >= share * total for h in hosts), f"content requests per source: {per_source}"


@then("some clients take different packages from different cloud sources")
def draws_differ_within_runs(runs: list[RunResult], endpoints: Endpoints) -> None:
    """At least one client drew a different first source for one package than for another: the order is drawn per
    content request, not once per client."""
    firsts: dict[str, set[str]] = {}
    for run, _, drawn in _draws(runs):
        firsts.setdefault(run.state["client"], set()).add(drawn)
    assert any(len(hosts) > 1 for hosts in firsts.values()), (
        "every client drew the same first source for all its packages: "
        f"{ {client: named_all(endpoints, hosts) for client, hosts in firsts.items()} }")


def _draws(runs: list[RunResult]) -> Iterator[tuple[RunResult, str, str]]:
    """(run, package, the source drawn first for it) of every content request of successful runs."""
    for run in runs:
        assert run.status == "succeeded", f"{run.state['client']}: {run.status} {run.reason}\n{run.describe()}"
        for order in run.events("location.order"):
            yield run, order["package"], order["order"][0]


@then(parsers.re(r"every download from (?P<source>.+) fails with (?P<code>0x[0-9A-Fa-f]{8})$"))
def downloads_from_source_fail(run: RunResult, endpoints: Endpoints, source: str, code: str) -> None:
    """The client tried that source at least once, and every attempt at it ended with that error code."""
    host = source_host(endpoints, source)
    ends = [e for e in run.downloads() if e["source"] == host]
    assert ends, f"{named(endpoints, host)} was never tried\n{run.describe()}"
    wrong = [f"{e['package']} attempt {e['attempt']}: {e['result']} {e.get('hresult', '')}".rstrip()
             for e in ends if e["result"] != "failed" or e["hresult"] != code.upper().replace("0X", "0x")]
    assert not wrong, f"downloads from {named(endpoints, host)} that did not fail with {code}: {wrong}"

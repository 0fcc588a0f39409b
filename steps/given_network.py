"""Given steps: the network between clients and services, and Azure storage's answers.

Network faults act in the fault proxies (Toxiproxy's toxics); storage faults in the storage front's fault API.
Sizes and durations are model units, converted with the environment's scale.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_bdd import given, parsers

from harness.clock.timer import ModelTimer
from harness.drivers.base import ServiceDriver
from harness.drivers.faults import Corrupt, Cut, Delay, Status
from harness.drivers.network import NetworkDriver
from harness.environments.base import Endpoints, Environment
from harness.model.units import parse_bandwidth, parse_duration, parse_size
from harness.protocol.content_url import CONTENT_PATH
from harness.protocol.paths import CONTENT_CONTAINER
from steps.vocabulary import SERVICES

BUSY = "Operations per second is over the account limit."  # Azure storage's words for throttling


@given(parsers.parse("{service} is down"))
def service_down(network: NetworkDriver, service: str) -> None:
    """The service's address refuses connections, as a stopped cloud service or a dead link does."""
    network.set_enabled(SERVICES(service), False)


@given(parsers.re(r"(?P<service>.+?) sends at most (?P<bandwidth>[\d.]+ [MG]bit/s)(?: with "
                  r"(?P<latency>[\d.]+ ?[a-z]+) latency)?$"))
def service_link(network: NetworkDriver, service: str, bandwidth: str, latency: str | None) -> None:
    """The link from the service towards clients: its bandwidth (storage egress, a CMG's outbound) and latency.
    Bandwidth carries model bytes: a blob's or a DP file's bytes weigh the content they stand for, handshakes
    and other messages their own size."""
    network.link(SERVICES(service), mbit_per_s=parse_bandwidth(bandwidth),
                 latency_s=parse_duration(latency) if latency else None)


@given(parsers.parse("every connection to {service} is cut after {size}"))
def connections_cut(network: NetworkDriver, service: str, size: str) -> None:
    """Each connection closes after that many model bytes towards the client (Toxiproxy's limit_data)."""
    network.cut_after(SERVICES(service), parse_size(size))


@given(parsers.parse("every connection to {service} stalls and is closed after {duration}"))
def connections_stall(network: NetworkDriver, service: str, duration: str) -> None:
    """No data flows, then the connection closes (Toxiproxy's timeout toxic): a link that dies mid-transfer."""
    network.stall(SERVICES(service), parse_duration(duration))


@given(parsers.re(r"(?P<service>.+?) sends in pieces of (?P<size>\d+ \w+) on the wire, (?P<duration>.+?) apart$"))
def service_slices(network: NetworkDriver, service: str, size: str, duration: str) -> None:
    """Toxiproxy's slicer: small TCP writes with a pause between them. The size is physical (segments, not
    content), the pause model time."""
    network.slice(SERVICES(service), parse_size(size), parse_duration(duration))


@given(parsers.parse("every connection to {service} is reset"))
def connections_reset(network: NetworkDriver, service: str) -> None:
    """The service's side answers each connection with a TCP reset (Toxiproxy's reset_peer)."""
    network.reset_connections(SERVICES(service))


@given(parsers.re(r"Azure storage throttles every request for (?P<package>\w+) for the first (?P<duration>.+?) of "
                  r"the run$"))
def storage_throttles_for_a_while(storage: ServiceDriver, package: str, duration: str) -> None:
    """503 ServerBusy during a model-time window that opens now (the run starts a few real milliseconds later)."""
    storage.arm(f"/{CONTENT_CONTAINER}/{package}/",
                Status(503, retry_after=1).on("GET").unlimited().during(0.0, parse_duration(duration)).because(BUSY))


@given(parsers.re(r"the CMG's content service answers the next request (?P<duration>.+?) late$"))
def content_service_slow(cmg: ServiceDriver, duration: str) -> None:
    """The answer's headers are held back (an HTTP-level delay fault): a CMG under load."""
    cmg.arm(CONTENT_PATH, Delay(parse_duration(duration)).on("GET").because("slow content service"))


@given(parsers.re(r"the content is missing from (?P<source>the CMG|the cloud distribution point)'s storage account$"))
def content_missing(request: pytest.FixtureRequest, source: str) -> None:
    """The source's content service finds nothing to list for any package: 404, as the CMG answers when a
    distribution did not complete (an HTTP-level fault on its content service)."""
    driver: ServiceDriver = request.getfixturevalue("cmg" if source == "the CMG" else "clouddp")
    driver.arm(CONTENT_PATH, Status(404).on("GET").unlimited().because("the content is not in the storage account"))


@given(parsers.re(r"Azure storage throttles the next (?P<count>\d+) requests? for (?P<package>\w+)$"))
def storage_throttles(storage: ServiceDriver, count: str, package: str) -> None:
    """503 ServerBusy with Retry-After, as storage answers past its request-rate limit (B-47)."""
    storage.arm(f"/{CONTENT_CONTAINER}/{package}/",
                Status(503, retry_after=1).on("GET").times(int(count)).because(BUSY))


@given(parsers.re(r"Azure storage throttles (?P<percent>\d+) % of the requests for (?P<package>\w+) at random, "
                  r"seeded with (?P<seed>\d+)$"))
def storage_throttles_at_random(storage: ServiceDriver, percent: str, package: str, seed: str) -> None:
    """Intermittent 503 ServerBusy: each request is throttled with that probability, drawn from a seeded
    generator so a failing run can be replayed exactly."""
    if not 0 < int(percent) <= 100:
        raise ValueError(f"a share of requests is 1 to 100 %, not {percent} %")
    storage.arm(f"/{CONTENT_CONTAINER}/{package}/", Status(503, retry_after=1).on("GET").unlimited()
                .with_probability(int(percent) / 100, seed=int(seed)).because(BUSY))


@given(parsers.re(r"Azure storage cuts the next download of (?P<package>\w+) after (?P<size>[\d.]+ \w+)$"))
def storage_cuts(storage: ServiceDriver, endpoints: Endpoints, package: str, size: str) -> None:
    """The blob's body ends early: the client sees a short read, as when a connection drops mid-download."""
    physical = endpoints.scale.physical_bytes(parse_size(size))
    storage.arm(f"/{CONTENT_CONTAINER}/{package}/", Cut(after=physical).on("GET"))


@given(parsers.re(r"Azure storage corrupts the next download of (?P<package>\w+)$"))
def storage_corrupts(storage: ServiceDriver, package: str) -> None:
    """Bytes of the blob change on the way: its hash no longer matches the content's."""
    storage.arm(f"/{CONTENT_CONTAINER}/{package}/", Corrupt(every=4096).on("GET"))


@pytest.fixture
def network_schedule(network: NetworkDriver) -> Iterator[list[ModelTimer]]:
    """Timers that change the network during the run; cancelled when the scenario ends (the environment's
    reset then restores every proxy)."""
    timers: list[ModelTimer] = []
    yield timers
    for timer in timers:
        timer.cancel()


@given(parsers.parse("{service} goes down {duration} after the task sequence is installed"))
def service_goes_down_later(network: NetworkDriver, network_schedule: list[ModelTimer], environment: Environment,
                            service: str, duration: str) -> None:
    """A CMG stopped on its egress threshold or a storage outage in the middle of a run (B-48).

    On a virtual clock the moment is exact: the scenario holds time still until the user clicks Install. On the
    real clock the timer starts a few real milliseconds before the click; give the run room on both sides of the
    moment (minutes of model time between the downloads that must and must not be affected).
    """
    clock = environment.model_clock
    name = f"{SERVICES(service)}-down-{len(network_schedule) + 1}"
    network_schedule.append(ModelTimer(clock, parse_duration(duration),
                                       lambda: network.set_enabled(SERVICES(service), False), name=name))


@given("the CMG has the TLS 1.2 content download defect of 1906 and 1910 early ring")
def tls12_content_defect(cmg: ServiceDriver) -> None:
    """Known issue: a content-enabled CMG that enforces TLS 1.2 answers every content request with HTTP 400
    (B-10; fixed in 1910 GA). The CMG's side of it is an HTTP-level fault; what the client
    makes of the 400 is the client's own behaviour."""
    cmg.arm(CONTENT_PATH, Status(400).on("GET").unlimited().because(
        "Bad Request: the underlying connection was closed (TLS 1.2 enforced on the CMG's connection to its storage "
        "account)"))

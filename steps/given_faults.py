"""Given steps: HTTP-level faults in the content sources and Azure storage, armed through each service's fault API
(harness/service/faults.py) with the drivers' typed faults (harness/drivers/faults.py): a content service that
fails or refuses, a distribution point that fails or cuts a download, storage that throttles, cuts or corrupts,
the CMG's TLS 1.2 defect. Sizes and durations are model units, converted with the environment's scale.

Every step here arms a fault: a scenario that uses one carries `@faults` (tests/unit/test_fault_tags.py)."""

from __future__ import annotations

import pytest
from pytest_bdd import given, parsers

from harness.drivers.base import ServiceDriver
from harness.drivers.cmg import CmgDriver
from harness.drivers.faults import Corrupt, Cut, Delay, Status
from harness.drivers.site import SiteDriver
from harness.environments.base import Endpoints
from harness.model.units import parse_duration, parse_size
from harness.protocol.content_url import CONTENT_PATH
from harness.protocol.paths import CONTENT_CONTAINER, DP_PACKAGE_VDIR
from steps.vocabulary import CLOUD_SOURCES

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


# -- When -----------------------------------------------------------------------------------------------


# -- Then -----------------------------------------------------------------------------------------------


BUSY = "Operations per second is over the account limit."  # Azure storage's words for throttling


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


@given("the CMG has the TLS 1.2 content download defect of 1906 and 1910 early ring")
def tls12_content_defect(cmg: ServiceDriver) -> None:
    """Known issue: a content-enabled CMG that enforces TLS 1.2 answers every content request with HTTP 400
    (B-10; fixed in 1910 GA). The CMG's side of it is an HTTP-level fault; what the client
    makes of the 400 is the client's own behaviour."""
    cmg.arm(CONTENT_PATH, Status(400).on("GET").unlimited().because(
        "Bad Request: the underlying connection was closed (TLS 1.2 enforced on the CMG's connection to its storage "
        "account)"))


@given(parsers.re(r"the CMG's content service refuses the next (?P<count>\d+ )?content requests? with "
                  r"(?P<status>40[13])$"))
def content_service_refuses(cmg: CmgDriver, count: str | None, status: str) -> None:
    """An HTTP-level fault: the content service answers 401/403 as for an expired or foreign access token."""
    cmg.arm(CONTENT_PATH, Status(int(status)).times(int(count or 1))
            .because("content access token expired (fault injected by the scenario)"))

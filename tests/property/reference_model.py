"""The reference model that tests/property/test_engine_reference_model.py holds the task sequence engine to: the
documented rules (which deployment options, launches and site versions may run over a CMG, where content may come
from, in which order) restated without importing harness.model.rules or harness.model.matrix, and `predict()`, the
outcome of a run they give.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.model.deployment import DeploymentOption

CMG, DP = "cmg", "dp"
ON_DEMAND = DeploymentOption.DOWNLOAD_ON_DEMAND.value
DOWNLOAD_ALL = DeploymentOption.DOWNLOAD_ALL.value
ACCESS_DIRECTLY = DeploymentOption.ACCESS_DIRECTLY.value
SOFTWARE_CENTER, MEDIA = "Software Center", "task sequence media"
CLIENTS_ONLY = "Only Configuration Manager clients"

# Exit codes (B-49).
OK = "0x00000000"
NO_LOCATION = "0x80040102"  # the TS engine's location request returned no usable location
HASH_MISMATCH = "0x80091007"  # CRYPT_E_HASH_VALUE
CONTENT_NOT_FOUND = "0x87D00607"

BEFORE_TS, ON_DEMAND_PHASE = "before the task sequence", "on demand"


# -- the reference model ---------------------------------------------------------------------------------


@dataclass
class PackageState:
    package_id: str
    step: str
    share: bool
    sources: set[str] = field(default_factory=set)
    damaged: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class DeploymentChoice:
    option: str
    allow_internet: bool
    available_to: str
    purpose: str
    pre_download: bool


@dataclass
class SiteState:
    version: int
    serve_content: bool
    packages: list[PackageState]
    deployment: DeploymentChoice | None = None  # the last deployment the console accepted


@dataclass(frozen=True)
class ClientChoice:
    network: str
    allow_cloud_dp: bool
    launch: str


@dataclass(frozen=True)
class Attempt:
    package: str
    source: str
    result: str
    phase: str


@dataclass(frozen=True)
class Outcome:
    status: str
    exit_code: str | None  # None: the documentation gives no exit code (refusals), so it is not compared
    failed_step: str | None
    ts_started: bool
    attempts: tuple[Attempt, ...] = ()  # every download attempt, in order (retries are off)
    accessed: tuple[tuple[str, str], ...] = ()  # (package, source) run from a package share


def console_refusals(deployment: DeploymentChoice, packages: list[PackageState]) -> list[str]:
    """What the console does not let an administrator deploy."""
    problems = []
    if deployment.option == DOWNLOAD_ALL and deployment.available_to != CLIENTS_ONLY:
        problems.append("download all is hidden when available to media and PXE (B-52)")
    if deployment.option == ACCESS_DIRECTLY and not all(p.share for p in packages):
        problems.append("access directly is offered only if every package has a package share (B-52)")
    if deployment.pre_download and deployment.purpose != "Available":
        problems.append("pre-download is only for Available deployments (B-43)")
    return problems


def refused_over_cmg(deployment: DeploymentChoice, launch: str, version: int) -> bool:
    """An internet client starts only deployments allowed on the internet (B-50), from Software
    Center (B-51). [INFERENCE] as the harness decided (ARCHITECTURE.md): PXE and Windows PE are
    refused on every version; task sequence media from 2010 with on-demand download only (B-08)."""
    if not deployment.allow_internet:
        return True
    if launch == SOFTWARE_CENTER:
        return False
    return not (launch == MEDIA and version >= 2010 and deployment.option == ON_DEMAND)


def locations(package: PackageState, site: SiteState, client: ClientChoice, *, engine: bool) -> list[str]:
    """The sources the management point offers and the client may use, in the order it tries them."""
    found = []
    # Internet clients use only internet-facing or cloud sources (B-16); the site's DP is intranet-only.
    if client.network == "intranet" and DP in package.sources:
        found.append(DP)
    # A cloud source needs "Allow access to cloud distribution point" (B-13), a CMG that serves
    # content (B-03), the content on it (B-14) and a version with content-enabled CMGs:
    # 1806 on (B-02; ARCHITECTURE.md). The client's own download (download all) uses it on
    # every such version (B-01, B-25); the TS engine only from 1910 (B-04) — [INFERENCE] the pre-1910
    # engine asks with UseAzure="0" and gets no cloud location (ARCHITECTURE.md).
    cloud = client.allow_cloud_dp and site.serve_content and CMG in package.sources and site.version >= 1806
    if cloud and (not engine or site.version >= 1910):
        # Cloud sources last (B-17); [INFERENCE] for intranet clients in no boundary group, as
        # here, the site's DP first and cloud last (ARCHITECTURE.md).
        found.append(CMG)
    return found


def fetch(package: PackageState, where: list[str], phase: str) -> tuple[list[Attempt], bool]:
    """Each location in turn; a copy whose hash does not match is not used (B-30, B-33)."""
    attempts = []
    for source in where:
        good = source not in package.damaged
        attempts.append(Attempt(package.package_id, source, "succeeded" if good else "failed", phase))
        if good:
            return attempts, True
    return attempts, False


def predict(site: SiteState, client: ClientChoice) -> Outcome:
    deployment = site.deployment
    assert deployment is not None, "the machine deploys before its first run"
    if client.network == "internet" and refused_over_cmg(deployment, client.launch, site.version):
        return Outcome("refused", None, None, False)
    if deployment.option == DOWNLOAD_ALL:
        return predict_download_all(site, client)
    return predict_steps(site, client, deployment.option == ACCESS_DIRECTLY)


def predict_download_all(site: SiteState, client: ClientChoice) -> Outcome:
    """Everything into ccmcache before the task sequence starts (B-25); [INFERENCE] a package with no
    location keeps the task sequence from starting, 0x87D00607 (ARCHITECTURE.md, B-49)."""
    attempts: list[Attempt] = []
    for package in site.packages:
        where = locations(package, site, client, engine=False)
        if not where:
            return Outcome("failed", CONTENT_NOT_FOUND, None, False, tuple(attempts))
        tried, ok = fetch(package, where, BEFORE_TS)
        attempts += tried
        if not ok:
            return Outcome("failed", HASH_MISMATCH, None, False, tuple(attempts))
    return Outcome("succeeded", OK, None, True, tuple(attempts))


def predict_steps(site: SiteState, client: ClientChoice, directly: bool) -> Outcome:
    """The TS starts; each step gets its package just before it runs (B-24), or runs it from the DP's
    package share without download or hash check, never from a cloud source (B-35, B-36)."""
    attempts: list[Attempt] = []
    accessed: list[tuple[str, str]] = []
    for package in site.packages:  # one step per package, in this order; Check Readiness needs none
        if directly:
            if client.network != "intranet" or DP not in package.sources:
                return Outcome("failed", NO_LOCATION, package.step, True, (), tuple(accessed))
            accessed.append((package.package_id, DP))
            continue
        where = locations(package, site, client, engine=True)
        if not where:  # "Processing 0 locations" (B-14)
            return Outcome("failed", NO_LOCATION, package.step, True, tuple(attempts))
        tried, ok = fetch(package, where, ON_DEMAND_PHASE)
        attempts += tried
        if not ok:
            return Outcome("failed", HASH_MISMATCH, package.step, True, tuple(attempts))
    return Outcome("succeeded", OK, None, True, tuple(attempts), tuple(accessed))

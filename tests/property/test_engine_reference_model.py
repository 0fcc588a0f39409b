"""The task sequence engine against a small reference model of the documented rules.

A Hypothesis state machine drives ONE real local environment (site, CMG, Azurite, client agent as
processes, started once for this module) with random console operations — site version, where each
package is distributed, whether the CMG serves content, the deployment (option, internet flag,
availability, purpose, pre-download), damaged copies — and, after each run rule, installs the
deployment on a fresh client (network, "Allow access to cloud distribution point", launch mode) and
checks that the engine's outcome agrees with `predict()` below, which restates the documented rules
(which deployment options, launches and site versions may run over a CMG, where content may come from)
without importing harness.model.rules or harness.model.matrix. It also checks invariants on every
timeline (see `invariant_problems`).

Run size: MAX_EXAMPLES = 80 examples of STEPS = 10 steps each (the set-up, then nine rule calls; three
of the nine rules install and compare). Hypothesis's swarm testing switches rules off per example, so the
number of runs varies: one pass made 178, 188, 225, 262 and 282 runs in five measurements, plus 85–95
deployments (some refused by the console, as predicted). The module takes 25–30 s on 2 cores, environment
start included (about 45 s when the machine is busy with other work). Shrinking is off unless
REFERENCE_MODEL_SHRINK=1 (see PHASES).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from harness.drivers.agent import AgentDriver
from harness.drivers.base import ServiceDriver, ServiceRequestError
from harness.drivers.cmg import CmgDriver
from harness.drivers.run import RunResult
from harness.drivers.site import SiteDriver
from harness.environments.local import LocalEnvironment
from harness.model.deployment import DeploymentOption

MAX_EXAMPLES = 80
STEPS = 10
RUN_TIMEOUT_S = 30.0  # stops a hung run from hanging the module; runs take well under a second
# Shrinking replays examples against real processes; on a broken rule it ran for Hypothesis's full five
# minutes. The failure message already shows the failing run's configuration, prediction and timeline,
# so shrinking is opt-in: REFERENCE_MODEL_SHRINK=1 for a minimal sequence of operations.
PHASES = tuple(Phase) if os.environ.get("REFERENCE_MODEL_SHRINK") == "1" else (
    Phase.explicit, Phase.reuse, Phase.generate, Phase.target)

VERSIONS = (1802, 1806, 1810, 1902, 1906, 1910, 2002, 2006, 2010, 2107)
CMG, DP = "cmg", "dp"
ON_DEMAND = DeploymentOption.DOWNLOAD_ON_DEMAND.value
DOWNLOAD_ALL = DeploymentOption.DOWNLOAD_ALL.value
ACCESS_DIRECTLY = DeploymentOption.ACCESS_DIRECTLY.value
SOFTWARE_CENTER, MEDIA = "Software Center", "task sequence media"
LAUNCHES = (SOFTWARE_CENTER, "PXE", MEDIA, "Windows PE")
CLIENTS_ONLY = "Only Configuration Manager clients"
AVAILABILITY = (CLIENTS_ONLY, "Configuration Manager clients, media and PXE")

# Exit codes (spec §2.8).
OK = "0x00000000"
NO_LOCATION = "0x80040102"  # the TS engine's location request returned no usable location
HASH_MISMATCH = "0x80091007"  # CRYPT_E_HASH_VALUE
CONTENT_NOT_FOUND = "0x87D00607"

BEFORE_TS, ON_DEMAND_PHASE = "before the task sequence", "on demand"
TASK_SEQUENCE, DEPLOYMENT = "PS100100", "PS120001"
# package ID, name, type, the step that uses it, its action
PACKAGES = (
    ("PS100101", "Windows 11 upgrade media", "OS upgrade package", "Upgrade Operating System",
     "Upgrade Operating System"),
    ("PS100102", "Surface drivers", "Driver package", "Apply drivers", "Run Command Line"),
    ("PS100103", "Post-upgrade scripts", "Package", "Run post-upgrade scripts", "Run Command Line"),
)
# No download retries keep a hash failure fast; the retry count itself is not under test here.
TS_VARIABLES = {"SMSTSDownloadRetryCount": "0", "SMSTSDownloadRetryDelay": "0"}


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
    exit_code: str | None  # None: the spec documents no exit code (refusals), so it is not compared
    failed_step: str | None
    ts_started: bool
    attempts: tuple[Attempt, ...] = ()  # every download attempt, in order (retries are off)
    accessed: tuple[tuple[str, str], ...] = ()  # (package, source) run from a package share


def console_refusals(deployment: DeploymentChoice, packages: list[PackageState]) -> list[str]:
    """What the console does not let an administrator deploy."""
    problems = []
    if deployment.option == DOWNLOAD_ALL and deployment.available_to != CLIENTS_ONLY:
        problems.append("download all is hidden when available to media and PXE (§1.4)")
    if deployment.option == ACCESS_DIRECTLY and not all(p.share for p in packages):
        problems.append("access directly is offered only if every package has a package share (§1.4)")
    if deployment.pre_download and deployment.purpose != "Available":
        problems.append("pre-download is only for Available deployments (§1.5 [S28])")
    return problems


def refused_over_cmg(deployment: DeploymentChoice, launch: str, version: int) -> bool:
    """An internet client starts only deployments allowed on the internet (§1.3, §8.1), from Software
    Center (§1.5, §1.7). [INFERENCE] as the harness decided (ARCHITECTURE.md): PXE and Windows PE are
    refused on every version; task sequence media from 2010 with on-demand download only (§1.7, §8.17)."""
    if not deployment.allow_internet:
        return True
    if launch == SOFTWARE_CENTER:
        return False
    return not (launch == MEDIA and version >= 2010 and deployment.option == ON_DEMAND)


def locations(package: PackageState, site: SiteState, client: ClientChoice, *, engine: bool) -> list[str]:
    """The sources the management point offers and the client may use, in the order it tries them."""
    found = []
    # Internet clients use only internet-facing or cloud sources (§1.4 [S11]); the site's DP is intranet-only.
    if client.network == "intranet" and DP in package.sources:
        found.append(DP)
    # A cloud source needs "Allow access to cloud distribution point" (§1.2, §8.5), a CMG that serves
    # content (§1.1, §8.6), the content on it (§1.1 [S12]) and a version with content-enabled CMGs:
    # 1806 on (§0.2, §1.7 [S06]; ARCHITECTURE.md). The client's own download (download all) uses it on
    # every such version (§7.2); the TS engine only from 1910 (§0.1, §8.2) — [INFERENCE] the pre-1910
    # engine asks with UseAzure="0" and gets no cloud location (ARCHITECTURE.md).
    cloud = client.allow_cloud_dp and site.serve_content and CMG in package.sources and site.version >= 1806
    if cloud and (not engine or site.version >= 1910):
        # Cloud sources last (§1.6 [S11], §2.5); [INFERENCE] for intranet clients in no boundary group, as
        # here, the site's DP first and cloud last (ARCHITECTURE.md).
        found.append(CMG)
    return found


def fetch(package: PackageState, where: list[str], phase: str) -> tuple[list[Attempt], bool]:
    """Each location in turn; a copy whose hash does not match is not used (§2.6, §8.8)."""
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
    """Everything into ccmcache before the task sequence starts (§1.4, §7.2); [INFERENCE] a package with no
    location keeps the task sequence from starting, 0x87D00607 (ARCHITECTURE.md, §2.6)."""
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
    """The TS starts; each step gets its package just before it runs (§7.1), or runs it from the DP's
    package share without download or hash check, never from a cloud source (§1.4 [S02][S11])."""
    attempts: list[Attempt] = []
    accessed: list[tuple[str, str]] = []
    for package in site.packages:  # one step per package, in this order; Check Readiness needs none
        if directly:
            if client.network != "intranet" or DP not in package.sources:
                return Outcome("failed", NO_LOCATION, package.step, True, (), tuple(accessed))
            accessed.append((package.package_id, DP))
            continue
        where = locations(package, site, client, engine=True)
        if not where:  # "Processing 0 locations" (§2.7, §8.4, §8.5)
            return Outcome("failed", NO_LOCATION, package.step, True, tuple(attempts))
        tried, ok = fetch(package, where, ON_DEMAND_PHASE)
        attempts += tried
        if not ok:
            return Outcome("failed", HASH_MISMATCH, package.step, True, tuple(attempts))
    return Outcome("succeeded", OK, None, True, tuple(attempts), tuple(accessed))


# -- what the engine did ---------------------------------------------------------------------------------


def observed(result: RunResult, names: dict[str, str]) -> Outcome:
    """The run in the model's terms; `names` maps a source's hostname to "cmg" or "dp"."""
    attempts, started = [], False
    for event in result.timeline:
        if event["event"] == "ts.start":
            started = True
        elif event["event"] == "download.end":
            attempts.append(Attempt(event["package"], names.get(event["source"], event["source"]), event["result"],
                                    ON_DEMAND_PHASE if started else BEFORE_TS))
    accessed = tuple((e["package"], names.get(e["source"], e["source"])) for e in result.events("content.accessed"))
    return Outcome(result.status, result.exit_code, result.state.get("failed_step"), started, tuple(attempts),
                   accessed)


def invariant_problems(result: RunResult, steps: dict[str, str]) -> list[str]:
    """What must hold whatever the configuration; `steps` maps each package to the step that uses it."""
    problems = unmatched_downloads(result) + unverified_steps(result)
    kinds = [e["event"] for e in result.timeline]
    if result.status == "refused" and ("ts.start" in kinds or "download.start" in kinds):
        problems.append("a refused run started the task sequence or downloaded content")
    if result.status == "succeeded":
        ended = result.step_results()
        problems += [f"the run succeeded but step {step!r} ({package}) did not succeed"
                     for package, step in steps.items() if ended.get(step) != "succeeded"]
    return problems


def unmatched_downloads(result: RunResult) -> list[str]:
    problems, open_attempts = [], {}
    for event in result.timeline:
        package = event.get("package")
        if event["event"] == "download.start":
            if package in open_attempts:
                problems.append(f"download of {package} started twice without an end")
            open_attempts[package] = event["source"]
        elif event["event"] == "download.end" and open_attempts.pop(package, None) != event["source"]:
            problems.append(f"download.end for {package} from {event['source']} matches no download.start")
    return problems + [f"download of {p} from {s} has no download.end" for p, s in open_attempts.items()]


def unverified_steps(result: RunResult) -> list[str]:
    """A step with a package may end successfully only on content verified (or, in access-directly mode,
    accessed) before it ended; a failed attempt leaves nothing usable behind."""
    problems: list[str] = []
    verified: set[str] = set()
    running: str | None = None
    for event in result.timeline:
        kind, package = event["event"], event.get("package")
        if kind == "download.end":
            (verified.add if event["result"] == "succeeded" else verified.discard)(package)
        elif kind == "content.accessed":
            verified.add(package)
        elif kind == "step.start":
            running = package
        elif kind == "step.end" and event["result"] == "succeeded" and running and running not in verified:
            problems.append(f"step {event['step']!r} succeeded on unverified content of {running}")
    return problems


def explain(what: str, site: SiteState, client: ClientChoice | None, expected: Any, actual: Any,
            result: RunResult | None = None) -> str:
    config = {"site": asdict(site), "client": asdict(client) if client else None}
    text = (f"{what}\n\nconfiguration:\n{json.dumps(config, indent=2, default=sorted)}\n\n"
            f"reference model predicts:\n{_show(expected)}\n\nengine/emulators did:\n{_show(actual)}")
    return text + (f"\n\ntimeline:\n{result.describe()}\nreason: {result.reason}" if result else "")


def _show(value: Any) -> str:
    if isinstance(value, Outcome):
        head = {k: v for k, v in asdict(value).items() if k not in ("attempts", "accessed")}
        lines = [json.dumps(head)] + [f"  attempt {a.package} from {a.source}: {a.result} ({a.phase})"
                                      for a in value.attempts]
        return "\n".join(lines + [f"  accessed {p} on {s}" for p, s in value.accessed])
    return str(value)


# -- the machine -----------------------------------------------------------------------------------------

# Skewed towards configurations that get far into a run (a uniform draw makes most runs refusals or
# location failures), and shrinking towards the newest version and the main path.
usually = st.sampled_from([True, True, True, True, False])
rarely = st.sampled_from([False, False, False, True])
versions = st.sampled_from(VERSIONS[::-1])
placements = st.sampled_from([(CMG,), (CMG, DP), (DP,), (), (CMG,), (CMG, DP)])
# Every package in one place, or each in its own: with independent places alone, "all on the CMG" is rare.
layouts = st.one_of(st.tuples(placements, st.integers(2, 3)).map(lambda pair: [pair[0]] * pair[1]),
                    st.lists(placements, min_size=2, max_size=3))
deployments = st.builds(DeploymentChoice,
                        option=st.sampled_from([ON_DEMAND, DOWNLOAD_ALL, ACCESS_DIRECTLY, ON_DEMAND]),
                        allow_internet=usually, available_to=st.sampled_from([CLIENTS_ONLY, *AVAILABILITY]),
                        purpose=st.sampled_from(["Available", "Required"]), pre_download=rarely)


class EngineAgreesWithReference(RuleBasedStateMachine):
    def __init__(self, env: LocalEnvironment) -> None:
        super().__init__()
        self.env = env
        self.site_driver = SiteDriver(env.http, env.endpoints["mp"].control_base)
        self.agent = AgentDriver(env.http, env.endpoints["client"].control_base)
        self.names = {env.endpoints["cmg"].hostname: CMG, env.endpoints["mp"].hostname: DP}
        self.model = SiteState(0, True, [])
        self.clients = 0

    @initialize(version=versions, serve_content=usually, layout=layouts,
                shares=st.lists(usually, min_size=3, max_size=3), data=st.data())
    def set_up(self, version: int, serve_content: bool, layout: list[tuple[str, ...]], shares: list[bool],
               data: st.DataObject) -> None:
        self.env.reset()
        self.model = SiteState(version, serve_content, [])
        self.site_driver.set_version(version)
        self.site_driver.set_serve_content(CMG, serve_content)
        for (package_id, name, kind, step, _), where, share in zip(PACKAGES, layout, shares, strict=False):
            self.site_driver.define_package(package_id, name, "30 MB", kind=kind, package_share=share)
            self.model.packages.append(PackageState(package_id, step, share))
            if where:
                self.distribute(len(self.model.packages) - 1, where)
        self.site_driver.define_task_sequence(TASK_SEQUENCE, "Upgrade to Windows 11", self._steps(), TS_VARIABLES)
        # The first deployment is one the console accepts, so every run has a deployment to install.
        self.deploy(data.draw(deployments.filter(lambda d: not console_refusals(d, self.model.packages)),
                              label="first deployment"))

    def _steps(self) -> list[dict[str, Any]]:
        steps: list[dict[str, Any]] = [{"name": "Check Readiness", "action": "Check Readiness", "duration": "20 s"}]
        for package_id, _, _, step, action in PACKAGES[:len(self.model.packages)]:
            steps.append({"name": step, "action": action, "package": package_id, "duration": "20 s"})
        return steps

    @rule(version=versions)
    def set_version(self, version: int) -> None:
        self.site_driver.set_version(version)
        self.model.version = version

    @rule(serve_content=st.booleans())
    def set_serve_content(self, serve_content: bool) -> None:
        self.site_driver.set_serve_content(CMG, serve_content)
        self.model.serve_content = serve_content

    @rule(index=st.integers(0, 2), where=placements.filter(bool))
    def distribute(self, index: int, where: tuple[str, ...]) -> None:
        package = self.model.packages[index % len(self.model.packages)]
        self.site_driver.distribute(package.package_id, *where)
        package.sources.update(where)
        package.damaged.difference_update(where)  # distributing again replaces a damaged copy

    @rule(where=placements.filter(bool))
    def distribute_every_package(self, where: tuple[str, ...]) -> None:
        for index in range(len(self.model.packages)):
            self.distribute(index, where)

    # At most one damaged copy at a time (redistributing repairs it): more would make most runs hash failures.
    @precondition(lambda self: any(p.sources for p in self.model.packages)
                  and not any(p.damaged for p in self.model.packages))
    @rule(data=st.data())
    def damage_a_copy(self, data: st.DataObject) -> None:
        on = sorted((i, s) for i, p in enumerate(self.model.packages) for s in p.sources)
        index, source = data.draw(st.sampled_from(on), label="damaged copy")
        package = self.model.packages[index]
        self.site_driver.damage(package.package_id, source)
        package.damaged.add(source)

    @rule(deployment=deployments)
    def deploy(self, deployment: DeploymentChoice) -> None:
        expected = console_refusals(deployment, self.model.packages)
        try:
            self.site_driver.deploy(DEPLOYMENT, TASK_SEQUENCE, option=deployment.option,
                                    purpose=deployment.purpose, allow_internet=deployment.allow_internet,
                                    available_to=deployment.available_to, pre_download=deployment.pre_download)
        except ServiceRequestError as refusal:
            assert expected and refusal.status == 422, explain(f"the console refused {deployment}", self.model,
                                                               None, expected or "accepted", refusal)
            return
        assert not expected, explain(f"the console accepted {deployment}", self.model, None, expected, "accepted")
        self.model.deployment = deployment

    # Three run rules of nine: runs are what the machine is for, and the main path (an internet client
    # starting from Software Center) would otherwise be rare.
    @rule(allow_cloud_dp=usually)
    def run_from_software_center_on_the_internet(self, allow_cloud_dp: bool) -> None:
        self.check_run(ClientChoice("internet", allow_cloud_dp, SOFTWARE_CENTER))

    @rule(allow_cloud_dp=usually, launch=st.sampled_from(LAUNCHES))
    def run_on_the_internet(self, allow_cloud_dp: bool, launch: str) -> None:
        self.check_run(ClientChoice("internet", allow_cloud_dp, launch))

    @rule(allow_cloud_dp=usually, launch=st.sampled_from(LAUNCHES))
    def run_on_the_intranet(self, allow_cloud_dp: bool, launch: str) -> None:
        self.check_run(ClientChoice("intranet", allow_cloud_dp, launch))

    def check_run(self, client: ClientChoice) -> None:
        expected = predict(self.model, client)
        result = self.install(client)
        actual = observed(result, self.names)
        if expected.exit_code is None:
            actual = replace(actual, exit_code=None)
        assert actual == expected, explain("the engine and the reference model disagree", self.model, client,
                                           expected, actual, result)
        steps = {p.package_id: p.step for p in self.model.packages}
        problems = invariant_problems(result, steps)
        assert not problems, explain("invariants broken: " + "; ".join(problems), self.model, client, expected,
                                     actual, result)

    def install(self, client: ClientChoice) -> RunResult:
        """A fresh client for every run: nothing cached by an earlier run (ccmcache) blurs the rules. It is a
        PKI client, which every version supports (site-issued tokens only from 2002, §1.7, §2.3)."""
        self.clients += 1
        name = f"REF{self.clients:03d}"
        self.agent.create_client(name, network=client.network, allow_cloud_dp=client.allow_cloud_dp)
        run = self.agent.install(name, DEPLOYMENT, client.launch)
        return self.agent.wait(name, run, RUN_TIMEOUT_S)

    def teardown(self) -> None:
        drivers: list[ServiceDriver] = [self.site_driver, self.agent,
                                        CmgDriver(self.env.http, self.env.endpoints["cmg"].control_base)]
        errors = [e for d in drivers for e in d.journal() if int(e["status"]) >= 500]
        assert not errors, f"services answered with server errors: {errors}"


def test_engine_agrees_with_the_reference_model(module_environment: LocalEnvironment) -> None:
    reference_env = module_environment
    run_state_machine_as_test(
        lambda: EngineAgreesWithReference(reference_env),
        settings=settings(max_examples=MAX_EXAMPLES, stateful_step_count=STEPS, deadline=None, phases=PHASES,
                          suppress_health_check=[HealthCheck.too_slow]))

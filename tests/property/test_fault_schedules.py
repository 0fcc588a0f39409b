"""Random fault schedules against a real environment: whatever goes wrong, the run ends well or with a documented
code, no step runs on content that was not verified, and every download attempt is on the timeline.

A Hypothesis state machine drives ONE local environment (started once for this module). Each example sets up a
site (2010) with two packages on both cloud sources (the CMG and a cloud DP), deployed on demand or with
everything downloaded first; then each step runs the upgrade on a fresh internet client under a fault schedule
of its own, drawn afresh (the previous one cleared first):
- up to three HTTP-level faults on the CMG's and the cloud DP's content service and on Azure storage (status
  codes, truncated and corrupted bodies, slow answers), armed for the next N requests or with a seeded
  probability;
- up to two network faults in the proxies before the CMG, the cloud DP and storage (down, a thin link,
  connections cut after some bytes, latency).
After each run it checks the invariants below, some against ground truth from the services' journals (what
storage really sent).

Run size: MAX_EXAMPLES = 25 examples of STEPS = 8 steps: about 160 runs, of which about 30 were sent a
corrupted blob in one measurement; 45 s on 2 cores. Skipping the client's hash check fails it within seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from harness.drivers.agent import AgentDriver
from harness.drivers.base import ServiceDriver
from harness.drivers.faults import Corrupt, Cut, Delay, Fault, Status
from harness.drivers.network import NetworkDriver
from harness.drivers.run import RunResult
from harness.drivers.site import SiteDriver
from harness.environments.local import LocalEnvironment
from harness.model.errors import HResult
from harness.protocol.content_url import CONTENT_PATH
from harness.protocol.paths import CONTENT_CONTAINER
from tests.property.test_engine_reference_model import unmatched_downloads, unverified_steps

MAX_EXAMPLES = 25
STEPS = 8
RUN_TIMEOUT_S = 60.0
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)  # shrinking replays real runs; the message says enough

TASK_SEQUENCE, DEPLOYMENT = "PS100300", "PS120300"
PACKAGES = (("PS100301", "Windows 11 upgrade media", "OS upgrade package", "Upgrade Operating System", "200 MB"),
            ("PS100302", "Surface drivers", "Driver package", "Apply drivers", "50 MB"))
OPTIONS = ("Download content locally when needed by the running task sequence",
           "Download all content locally before starting task sequence")
BITS_HTTP = 0x80190000  # BG_E_HTTP_ERROR_<status>: 0x8019 and the HTTP status (B-49: 0x80190191 = 401)


def documented(code: str) -> bool:
    """A code of B-49 (the harness's HResult table) or an HTTP status in BITS's 0x8019xxxx family."""
    value = int(code, 16)
    return value in {h.value for h in HResult} or ((value & 0xFFFF0000) == BITS_HTTP and 100 <= value & 0xFFFF < 600)


http_faults: st.SearchStrategy[Fault] = st.one_of(
    st.builds(Status, st.sampled_from([401, 403, 404, 500, 503])),
    st.builds(Cut, after=st.integers(0, 20_000)),
    st.builds(Corrupt, every=st.sampled_from([512, 4096, 65536])),
    st.builds(Delay, st.sampled_from([5.0, 30.0])),
)
# How often each fires: on the next 1-3 requests, or on each with a seeded probability.
arming = st.one_of(
    st.integers(1, 3).map(lambda count: lambda fault: fault.times(count)),
    st.tuples(st.sampled_from([0.3, 0.6]), st.integers(0, 1000)).map(
        lambda drawn: lambda fault: fault.unlimited().with_probability(*drawn)),
)
network_faults = st.sampled_from(["down", "thin link", "cut", "latency"])
# Storage twice as likely: its faults are the ones whose ground truth (what was really sent) is checked.
services = st.sampled_from(["storage", "cmg", "clouddp", "storage"])
proxies = st.sampled_from(["cmg", "clouddp", "storage"])
packages = st.sampled_from([p[0] for p in PACKAGES])


class FaultSchedules(RuleBasedStateMachine):
    def __init__(self, env: LocalEnvironment) -> None:
        super().__init__()
        self.env = env
        endpoints = env.endpoints
        self.site = SiteDriver(env.http, endpoints["mp"].control_base)
        self.agent = AgentDriver(env.http, endpoints["client"].control_base)
        self.services = {name: ServiceDriver(env.http, endpoints[name].control_base)
                         for name in ("cmg", "clouddp", "storage")}
        self.network = NetworkDriver(env.http, endpoints["network"].control_base, endpoints.scale)
        self.clients = 0
        self.armed: list[str] = []

    @initialize(option=st.sampled_from(OPTIONS))
    def set_up(self, option: str) -> None:
        self.env.reset()
        self.site.set_version(2010)
        self.site.create_cloud_dp()
        steps: list[dict[str, Any]] = [{"name": "Check Readiness", "action": "Check Readiness", "duration": "1 minute"}]
        for package_id, name, kind, step, size in PACKAGES:
            self.site.define_package(package_id, name, size, kind=kind)
            self.site.distribute(package_id, "cmg", "clouddp")
            steps.append({"name": step, "action": "Run Command Line", "package": package_id, "duration": "1 minute"})
        self.site.define_task_sequence(TASK_SEQUENCE, "Upgrade", steps)
        self.site.deploy(DEPLOYMENT, TASK_SEQUENCE, option=option)

    @rule(http=st.lists(st.tuples(services, http_faults, arming, packages), max_size=3),
          network=st.lists(st.tuples(proxies, network_faults), max_size=2))
    def run(self, http: list[tuple[str, Fault, Callable[[Fault], Fault], str]], network: list[tuple[str, str]]) -> None:
        """A run on a fresh client under its own fault schedule (the previous run's faults cleared first)."""
        self.clear_faults()
        for service, fault, how, package in http:
            self.arm_http_fault(service, fault, how, package)
        for proxy, fault in network:
            self.network_fault(proxy, fault)
        self.clients += 1
        client = f"FAULTS{self.clients:04d}"
        self.agent.create_client(client, network="internet")
        marks = {name: len(driver.journal()) for name, driver in self.services.items()}
        result = self.agent.wait(client, self.agent.install(client, DEPLOYMENT), RUN_TIMEOUT_S)
        problems = self.invariant_problems(result, marks)
        assert not problems, "\n".join([*problems, "armed: " + "; ".join(self.armed), result.describe()])

    def clear_faults(self) -> None:
        for driver in self.services.values():
            driver.clear_faults()
        self.network.reset()
        self.armed = []

    def arm_http_fault(self, service: str, fault: Fault, how: Callable[[Fault], Fault], package: str) -> None:
        path = f"/{CONTENT_CONTAINER}/{package}/" if service == "storage" else CONTENT_PATH
        armed = how(fault).on("GET").because("fault schedule")
        self.services[service].arm(path, armed)
        self.armed.append(f"{service} {path}: {armed}")

    def network_fault(self, proxy: str, fault: str) -> None:
        if fault == "down":
            self.network.set_enabled(proxy, False)
        elif fault == "thin link":
            self.network.link(proxy, mbit_per_s=20)
        elif fault == "cut":
            self.network.cut_after(proxy, 100_000_000)  # 100 MB (model) per connection
        else:
            self.network.link(proxy, latency_s=30.0)
        self.armed.append(f"network {proxy}: {fault}")

    def invariant_problems(self, result: RunResult, marks: dict[str, int]) -> list[str]:
        problems = unmatched_downloads(result) + unverified_steps(result)
        if result.status not in ("succeeded", "failed"):
            problems.append(f"the run ended {result.status}: {result.reason}")
        elif result.status == "failed" and not documented(result.exit_code):
            problems.append(f"the run failed with {result.exit_code}, which is not a documented code")
        problems += self.unrecorded_attempts(result, marks)
        problems += self.corruption_caught(result, marks)
        return problems

    def corruption_caught(self, result: RunResult, marks: dict[str, int]) -> list[str]:
        """Ground truth from storage's journal: every blob answer that went out corrupted ended in a failed
        attempt. (One attempt reads one blob here: each package is one file.) A client that skipped the hash
        check would report such an attempt as a success."""
        problems = []
        served = self.services["storage"].journal()[marks["storage"]:]
        for package_id, *_ in PACKAGES:
            corrupted = [e for e in served if f"/{package_id}/" in e["path"] and "body corrupted" in e["note"]
                         and int(e["status"]) in (200, 206)]
            failed = [e for e in result.events("download.end", package=package_id) if e["result"] == "failed"]
            if len(corrupted) > len(failed):
                problems.append(f"storage sent {len(corrupted)} corrupted copies of {package_id} but only "
                                f"{len(failed)} attempts failed: a step may have run on unverified content")
        return problems

    def unrecorded_attempts(self, result: RunResult, marks: dict[str, int]) -> list[str]:
        """Each content-service request the sources answered during the run belongs to an attempt on the timeline."""
        problems = []
        for service in ("cmg", "clouddp"):
            host = self.env.endpoints[service].hostname
            asked = [e for e in self.services[service].journal()[marks[service]:] if e["path"] == CONTENT_PATH]
            attempts = [e for e in result.events("download.start") if e.get("source") == host]
            if len(asked) > len(attempts):
                problems.append(f"{service} answered {len(asked)} content requests but the timeline shows "
                                f"{len(attempts)} download attempts from {host}")
        return problems


def test_fault_schedules_end_well_or_with_a_documented_code(module_environment: LocalEnvironment) -> None:
    env = module_environment
    run_state_machine_as_test(
        lambda: FaultSchedules(env),
        settings=settings(max_examples=MAX_EXAMPLES, stateful_step_count=STEPS, deadline=None, phases=PHASES,
                          suppress_health_check=[HealthCheck.too_slow]))

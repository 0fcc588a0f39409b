"""The virtual clock end to end: the same runs give the same timeline to the model millisecond, idle or with both
cores busy, several clients at once included, on the local environment and in containers alike; and a run's wall
time does not depend on its model durations.

One local environment on the virtual clock for the module (and one containers environment for the test that
needs it). Each test does what a scenario does: sets the site up while holding time still (the "scenario" actor is
busy), presses Install, and waits with the actor idle.
"""

from __future__ import annotations

import multiprocessing
import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from harness.drivers.agent import AgentDriver
from harness.drivers.base import ServiceDriver
from harness.drivers.faults import Delay, Status
from harness.drivers.network import NetworkDriver
from harness.drivers.site import SiteDriver
from harness.environments.emulated import EmulatedEnvironment
from harness.environments.local import LocalEnvironment
from harness.protocol.content_url import CONTENT_PATH
from harness.protocol.paths import CONTENT_CONTAINER

ON_DEMAND = "Download content locally when needed by the running task sequence"
REPEATS = 5  # idle, and as many again with both cores busy


@pytest.fixture(scope="module")
def virtual() -> Iterator[LocalEnvironment]:
    with LocalEnvironment(clock_mode="virtual") as env:
        yield env


@pytest.fixture(scope="module")
def virtual_containers() -> Iterator[EmulatedEnvironment]:
    pytest.importorskip("docker", reason="the docker SDK comes with testcontainers: pip install -e .[dev]")
    from harness.environments.docker_engine import EngineUnavailable, open_engine
    try:
        open_engine().close()
    except EngineUnavailable as error:
        pytest.skip(f"no Docker engine answers ({error}): run scripts/docker-engine")
    from harness.environments.containers import ContainersEnvironment

    with ContainersEnvironment(clock_mode="virtual") as env:
        yield env


def _busy_loop() -> None:
    while True:
        pass


@contextmanager
def both_cores_busy() -> Iterator[None]:
    """Two processes spinning for the block: what a shared CI runner looks like."""
    spinners = [multiprocessing.Process(target=_busy_loop, daemon=True) for _ in range(2)]
    for spinner in spinners:
        spinner.start()
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.terminate()
            spinner.join(5)


def _set_up(env: EmulatedEnvironment, *, step: str, clients: list[tuple[str, dict[str, Any] | None]],
            throttled: int, network: bool = False) -> None:
    """Without a throttled fault the task sequence checks readiness first (2 minutes); with one it downloads at
    once, so the throttled requests are the runs' very first ones."""
    site = SiteDriver(env.http, env.endpoints["mp"].control_base)
    site.set_version(1910)
    site.create_cloud_dp()  # a classic cloud DP can only be created on older versions; it keeps working
    site.set_version(2107)
    site.set_serve_content("cmg", True)
    for package, size in (("PS100311", "3.2 GB"), ("PS100312", "400 MB")):
        site.define_package(package, f"package {package}", size, kind="OS upgrade package")
        site.distribute(package, "cmg", "clouddp")
    readiness = [] if throttled else [{"name": "Check Readiness", "action": "Check Readiness", "duration": "2 minutes"}]
    site.define_task_sequence("PS100310", "Upgrade", [
        *readiness,
        {"name": "Upgrade Operating System", "action": "Upgrade Operating System", "package": "PS100311",
         "duration": step},
        {"name": "Apply drivers", "action": "Run Command Line", "package": "PS100312", "duration": "5 minutes"}])
    site.deploy("PS120031", "PS100310", option=ON_DEMAND)
    if throttled:  # whichever runs reach storage first are throttled and retry: the order of the runs shows
        storage = ServiceDriver(env.http, env.endpoints["storage"].control_base)
        storage.arm(f"/{CONTENT_CONTAINER}/PS100311/", Status(503, retry_after=1).on("GET").times(throttled))
    if network:  # storage over a thin, slow link; the CMG's content service answers 10 minutes late
        NetworkDriver(env.http, env.endpoints["network"].control_base, env.endpoints.scale).link(
            "storage", mbit_per_s=100, latency_s=120)
        ServiceDriver(env.http, env.endpoints["cmg"].control_base).arm(CONTENT_PATH, Delay(600).on("GET"))
    agent = AgentDriver(env.http, env.endpoints["client"].control_base)
    for number, (name, link) in enumerate(clients):
        agent.create_client(name, network="internet", seed=number, link=link)


def _timelines(env: EmulatedEnvironment, *, step: str = "40 minutes", clients: list[tuple[str, dict[str, Any] | None]],
               throttled: int = 0, click_order: int = 0, network: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    """Every client's timeline (model time, event, what it names) after all of them clicked Install at one model
    instant, in an order shuffled by `click_order` (0: as listed)."""
    env.reset()
    with env.model_clock.join("scenario") as scenario:
        _set_up(env, step=step, clients=clients, throttled=throttled, network=network)
        agent = AgentDriver(env.http, env.endpoints["client"].control_base, clock=scenario)
        names = [name for name, _ in clients]
        if click_order:
            random.Random(click_order).shuffle(names)
        runs = [(name, agent.install(name, "PS120031")) for name in names]
        results = {name: agent.wait(name, run, 60.0) for name, run in runs}
    return {name: [(e["t"], e["event"], e.get("package"), e.get("source"), e.get("step"))
                   for e in result.timeline] for name, result in results.items()}


def test_one_client_with_a_link_gets_the_same_timeline_every_time_idle_and_loaded(virtual: LocalEnvironment) -> None:
    clients = [("CLIENT01", {"down": "20 Mbit/s", "latency": "80 ms", "jitter": "10 ms"})]
    first = _timelines(virtual, clients=clients)
    assert first["CLIENT01"][-1][1] == "run.end" and len(first["CLIENT01"]) > 15
    idle = [_timelines(virtual, clients=clients) for _ in range(REPEATS)]
    with both_cores_busy():
        loaded = [_timelines(virtual, clients=clients) for _ in range(REPEATS)]
    assert all(timeline == first for timeline in idle + loaded)


def test_calls_held_by_the_network_and_a_late_answer_give_the_same_timeline_every_time(
        virtual: LocalEnvironment) -> None:
    """The fault proxy paces storage's bytes at 100 Mbit/s and delays them 2 minutes; the content service holds
    its first answer 10 minutes: every wait is on the clock, and three clients share the proxy."""
    clients = [(f"CLIENT{n}", None) for n in (1, 2, 3)]
    first = _timelines(virtual, clients=clients, network=True)
    assert all(events[-1][1] == "run.end" for events in first.values())
    download = [e for e in first["CLIENT1"] if e[1] in ("download.start", "download.end") and e[2] == "PS100311"]
    assert download[-1][0] - download[0][0] >= 600 + 256  # the late answer, then 3.2 GB at 100 Mbit/s
    for _ in range(2):
        assert _timelines(virtual, clients=clients, network=True) == first
    with both_cores_busy():
        for _ in range(2):
            assert _timelines(virtual, clients=clients, network=True) == first


@pytest.mark.containers
def test_containers_repeat_their_timelines_idle_and_loaded(virtual: LocalEnvironment,
                                                           virtual_containers: EmulatedEnvironment) -> None:
    """The same world in containers (its processes in Docker, the clock's file through a bind mount, the authority
    on a port of its own), with calls held by the network: the same timelines every time, idle and loaded. They
    are the local environment's too, event for event, to within 2 model milliseconds: the images' TLS library is
    another build than the host's (OpenSSL 3.0.20 and 3.0.19 here), and a handshake a few bytes longer through a
    100 Mbit/s link at scale 5000 arrives a fraction of a model millisecond later."""
    clients = [(f"CLIENT{n}", None) for n in (1, 2, 3)]
    first = _timelines(virtual_containers, clients=clients, network=True)
    idle = [_timelines(virtual_containers, clients=clients, network=True) for _ in range(REPEATS)]
    with both_cores_busy():
        loaded = [_timelines(virtual_containers, clients=clients, network=True) for _ in range(REPEATS)]
    assert all(timelines == first for timelines in idle + loaded)
    local = _timelines(virtual, clients=clients, network=True)
    assert {name: [event[1:] for event in events] for name, events in first.items()} == \
        {name: [event[1:] for event in events] for name, events in local.items()}
    drift = max(abs(ours[0] - theirs[0]) for name in local for ours, theirs in zip(first[name], local[name],
                                                                                       strict=True))
    assert drift <= 0.002, f"containers and local timelines differ by {drift * 1e3:.1f} model ms"


def test_twenty_clients_at_once_get_the_same_timelines_every_time(virtual: LocalEnvironment) -> None:
    """Each client draws its cloud source at random (from its seed); half of them have a thin link; the first 7
    requests for the upgrade package's blob are throttled, so which clients retry depends on who came first. The
    clicks come in another order each time: runs started at one instant still take their turns by name."""
    clients = [(f"CLIENT{n:02}", {"down": "50 Mbit/s"} if n % 2 else None) for n in range(1, 21)]
    first = _timelines(virtual, clients=clients, throttled=7)
    sources = {event[3] for events in first.values() for event in events if event[1] == "download.start"}
    assert len(sources) == 2  # both the CMG and the cloud DP were drawn: the order really was random
    retried = [name for name, events in first.items() if any(event[1] == "download.retry" for event in events)]
    assert 0 < len(retried) < len(clients)
    assert _timelines(virtual, clients=clients, throttled=7, click_order=1) == first
    with both_cores_busy():
        assert _timelines(virtual, clients=clients, throttled=7, click_order=2) == first


def _side_by_side(env: EmulatedEnvironment) -> tuple[float, float]:
    """Two clients click Install at one model instant: CLIENT01's task sequence ends on a 4-minute step, CLIENT02's
    on a 4-hour one, the same in all else. The wall time from the clicks to each run's end."""
    env.reset()
    with env.model_clock.join("scenario") as scenario:
        site = SiteDriver(env.http, env.endpoints["mp"].control_base)
        site.set_version(2107)
        site.set_serve_content("cmg", True)
        site.define_package("PS100311", "package PS100311", "3.2 GB", kind="OS upgrade package")
        site.distribute("PS100311", "cmg")
        for task_sequence, deployment, step in (("PS100310", "PS120031", "4 minutes"),
                                                ("PS100320", "PS120032", "4 hours")):
            site.define_task_sequence(task_sequence, "Upgrade", [
                {"name": "Check Readiness", "action": "Check Readiness", "duration": "2 minutes"},
                {"name": "Upgrade Operating System", "action": "Upgrade Operating System", "package": "PS100311",
                 "duration": step}])
            site.deploy(deployment, task_sequence, option=ON_DEMAND)
        agent = AgentDriver(env.http, env.endpoints["client"].control_base, clock=scenario)
        for name in ("CLIENT01", "CLIENT02"):
            agent.create_client(name, network="internet")
        started = time.perf_counter()
        runs = [(name, agent.install(name, deployment))
                for name, deployment in (("CLIENT01", "PS120031"), ("CLIENT02", "PS120032"))]
        ended = []
        for name, run in runs:
            assert agent.wait(name, run, 60.0).status == "succeeded"
            ended.append(time.perf_counter() - started)
    return ended[0], ended[1]


def test_a_run_costs_the_same_wall_time_with_a_4_hour_step_as_with_a_4_minute_step(virtual: LocalEnvironment) -> None:
    """The 4-hour run ends within 10 % plus 50 ms of the 4-minute one's wall time (median of 5 pairs). The two run
    side by side, so whatever else the machine is doing weighs on both alike; measured one after the other, the
    runs would measure their neighbours. A run that slept for its modelled durations would end 3 real seconds
    later at scale 5000."""
    pairs = [_side_by_side(virtual) for _ in range(5)]
    short = statistics.median(minutes for minutes, _ in pairs)
    extra = statistics.median(hours - minutes for minutes, hours in pairs)
    assert extra <= 0.1 * short + 0.05, (
        f"the 4-minute run took {short:.3f} s, the 4-hour run {extra * 1e3:.0f} ms more (wall time, medians)")

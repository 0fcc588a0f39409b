"""Fleets: thousands of internet clients of the deployment in waves on the virtual clock, the CMG's VMs and its
egress threshold, and what the fleet's runs add up to (percentiles, waits, the CMG stopping itself)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pytest_bdd import given, parsers, then, when

from harness.drivers.base import ServiceDriver
from harness.drivers.cmg import CmgDriver
from harness.drivers.fleet import FleetDriver, FleetResult
from harness.drivers.site import SiteDriver
from harness.model.cmg_capacity import VmSize
from harness.model.deployment import DeploymentOption
from harness.model.errors import hresult_text
from harness.model.fleet import ClientOutcome, percentile, share_within
from harness.model.units import parse_bandwidth, parse_duration, parse_size
from harness.reporting.attach import attach_fleet
from steps.fixtures import TaskSequenceSpec

FLEET_TIMEOUT_S = 600.0
FLEET = "FLEET"


@dataclass
class FleetPlan:
    """The fleet a scenario builds up over its Given steps."""

    clients: int = 0
    wave_size: int = 0
    every_s: float = 0.0
    spread_s: float = 0.0
    token_percent: int = 0
    intranet_percent: int = 0
    seed: int = 0


@pytest.fixture
def fleet_plan() -> FleetPlan:
    return FleetPlan()


@given(parsers.parse("{count:n} internet clients, in waves of {wave:n} every {duration}"))
@given(parsers.parse("{count:n} clients, in waves of {wave:n} every {duration}"))
def fleet_in_waves(fleet_plan: FleetPlan, count: int, wave: int, duration: str) -> None:
    """The fleet: that many clients of the deployment, a wave of them starting at once every so often (model
    time). They are internet PKI clients unless shares of them are said to use tokens or be on the intranet."""
    fleet_plan.clients, fleet_plan.wave_size, fleet_plan.every_s = count, wave, parse_duration(duration)


@given(parsers.parse("each wave's clients start over {duration}"))
def waves_spread(fleet_plan: FleetPlan, duration: str) -> None:
    """A wave's clients start at seeded random moments over that long, instead of all at once."""
    fleet_plan.spread_s = parse_duration(duration)


@given(parsers.parse("{percent:d} % of the fleet's clients authenticate with a site-issued token"))
def token_share(fleet_plan: FleetPlan, percent: int) -> None:
    """A mixed population: that share are internet token clients (CCM_Proxy_ServerAuth); the other internet
    clients are PKI clients."""
    if not 0 <= percent <= 100:
        raise ValueError(f"a share is 0 to 100 %, not {percent} %")
    fleet_plan.token_percent = percent


@given(parsers.parse("{percent:d} % of the fleet's clients are on the intranet"))
def intranet_share(fleet_plan: FleetPlan, percent: int) -> None:
    """A mixed population: that share are intranet clients, which locate content at the management point and take
    it from their distribution point, never through the CMG; the rest are internet clients."""
    if not 0 <= percent <= 100:
        raise ValueError(f"a share is 0 to 100 %, not {percent} %")
    fleet_plan.intranet_percent = percent


@given(parsers.re(r"the CMG has (?P<vms>\d+) VMs?(?: of size (?P<vm_size>.+))?$"))
def cmg_vms(cmg: CmgDriver, vms: str, vm_size: str | None) -> None:
    """The CMG's VM instances (1 to 16) and their size, in the console's words (Standard (A2_v2) by default):
    together they carry 6,000 clients a VM (Standard, classic), 10 (Lab (B2s)) or 10,000 (Large (A4_v2)) without
    delay; over that, requests wait for a place."""
    cmg.set_deployment(vms=int(vms), vm_size=(vm_size or VmSize.STANDARD_A2_V2.words).strip('"'))


@given(parsers.parse("the CMG stops itself when its outbound data passes the critical threshold of {size}"))
def cmg_egress_threshold(cmg: CmgDriver, size: str) -> None:
    """The CMG's 14-day outbound data threshold is that size, with "Stop this service when the critical threshold
    is exceeded" on: the six-minute check after its outbound data reaches 90 % of it stops the CMG."""
    cmg.set_deployment(egress_threshold_bytes=parse_size(size), stop_at_critical=True)


@when("the fleet installs the deployment", target_fixture="fleet")
def fleet_installs(fleets: FleetDriver, site: SiteDriver, task_sequence: TaskSequenceSpec, fleet_plan: FleetPlan,
                   cmg: CmgDriver) -> FleetResult:
    """Every client of the fleet installs the deployment when its wave starts, and the step waits until each one
    has started the upgrade step or failed. The fleet's pictures (clients and downloads over model time, the
    CMG's outbound data against its threshold, when clients started the upgrade step) and its percentiles are
    attached to the report."""
    download_all = task_sequence.option == DeploymentOption.DOWNLOAD_ALL.value
    return _run_fleet(fleets, site, task_sequence, fleet_plan, cmg, FLEET, download_all)


@when("the fleet installs the deployment once on demand and once downloading all content first",
      target_fixture="fleets_compared")
def fleet_installs_both_ways(fleets: FleetDriver, site: SiteDriver, task_sequence: TaskSequenceSpec,
                             fleet_plan: FleetPlan, cmg: CmgDriver) -> tuple[FleetResult, FleetResult]:
    """The same fleet twice, one after the other: with "Download content locally when needed by the running task
    sequence" (each client fetches what its upgrade step needs), then with "Download all content locally before
    starting task sequence" (every package of the task sequence first)."""
    return (_run_fleet(fleets, site, task_sequence, fleet_plan, cmg, FLEET, False),
            _run_fleet(fleets, site, task_sequence, fleet_plan, cmg, f"{FLEET}-ALL", True))


def _run_fleet(fleets: FleetDriver, site: SiteDriver, task_sequence: TaskSequenceSpec, fleet_plan: FleetPlan,
               cmg: CmgDriver, name: str, download_all: bool) -> FleetResult:
    if fleet_plan.clients == 0:
        raise ValueError("no fleet: say how many internet clients, in waves of how many, every how long")
    packages = [{"id": package_id, "version": 1} for package_id in task_sequence.packages]
    upgrade = [row["package"] for row in task_sequence.step_rows if row.get("action") == "Upgrade Operating System"]
    token, intranet = fleet_plan.token_percent, fleet_plan.intranet_percent
    if token + intranet > 100:
        raise ValueError(f"{token} % token clients and {intranet} % intranet clients are more than the whole fleet")
    mix = [{"network": "internet", "auth": "token", "share": token / 100},
           {"network": "intranet", "auth": "pki", "share": intranet / 100},
           {"network": "internet", "auth": "pki", "share": (100 - token - intranet) / 100}]
    body = {"name": name, "clients": fleet_plan.clients,
            "waves": {"size": fleet_plan.wave_size, "every_s": fleet_plan.every_s, "spread_s": fleet_plan.spread_s},
            "mix": [m for m in mix if m["share"] > 0], "seed": fleet_plan.seed, "packages": packages,
            "needed": upgrade or [packages[0]["id"]], "download_all": download_all,
            "site_token": site.registration_token(name) if token else None}
    fleets.start(body)
    result = fleets.wait(name, FLEET_TIMEOUT_S)
    attach_fleet(result, cmg.deployment())
    return result


@then(parsers.parse("on demand moves at least {percent:d} % less data than downloading all content first"))
def on_demand_moves_less(fleets_compared: tuple[FleetResult, FleetResult], percent: int) -> None:
    """Model bytes the fleet's clients downloaded before their upgrade step, on demand against download all."""
    on_demand, download_all = (fleet.downloaded_bytes for fleet in fleets_compared)
    saved = 1 - on_demand / download_all if download_all else 0.0
    if saved * 100 < percent:
        pytest.fail(f"on demand moved {on_demand:,} bytes and download all {download_all:,}: {saved:.1%} less, "
                    f"not {percent} %")


@then(parsers.parse("{percent:d} % of the fleet's clients start the upgrade step within {duration}"))
def share_start_within(fleet: FleetResult, percent: int, duration: str) -> None:
    """Measured from each client's own start (its wave's install) to the upgrade step beginning its work."""
    limit = parse_duration(duration)
    waits = [o.upgrade_after_s for o in fleet.outcomes]
    share = share_within(waits, limit)
    if share * 100 < percent:
        started = [w for w in waits if w is not None]
        p = f"; the {percent}th percentile is {percentile(started, percent):.0f} s" if len(started) == len(waits) \
            else f"; {len(waits) - len(started)} never started it"
        pytest.fail(f"{share:.1%} of the fleet's {len(waits)} clients started the upgrade step within "
                    f"{limit:.0f} s, fewer than {percent} %{p}")


@then("every client of the fleet starts the upgrade step")
def every_client_starts(fleet: FleetResult) -> None:
    """No client of the fleet failed."""
    if fleet.failed:
        first = fleet.failed[0]
        pytest.fail(f"{len(fleet.failed)} of the fleet's {len(fleet.outcomes)} clients failed; the first, "
                    f"{first.name}, with {first.error}")


@then(parsers.parse("no client of the fleet waits more than {duration} for the CMG"))
def no_client_waits(fleet: FleetResult, duration: str) -> None:
    """The time the CMG took to answer a client's requests (its places, and any wait for one), summed per client."""
    limit = parse_duration(duration)
    longest = max(fleet.outcomes, key=lambda o: o.cmg_wait_s)
    if longest.cmg_wait_s > limit + 1e-9:
        pytest.fail(f"{longest.name} waited {longest.cmg_wait_s:.0f} s for the CMG, more than {limit:.0f} s")


@then(parsers.parse("some clients of the fleet wait for a place at the CMG"))
def some_clients_wait(cmg: CmgDriver) -> None:
    """At least one request found every place of the CMG's VMs taken and waited for one."""
    deployment = cmg.deployment()
    if deployment["waited"] == 0:
        pytest.fail(f"no request waited: the CMG's {deployment['capacity']} places were never all taken")


@then(parsers.parse("the CMG stops itself at a six-minute check once its outbound data passes 90 % of the "
                    "threshold, and the clients after it fail with {code}"))
def cmg_stops(fleet: FleetResult, cmg: CmgDriver, code: str) -> None:
    """The CMG's egress check stopped it at a six-minute check; clients failed, each with that code and no sooner
    than the stop."""
    egress = cmg.deployment()["egress"]
    stopped = egress["stopped_at_s"]
    if stopped is None:
        pytest.fail(f"the CMG never stopped: it sent {egress['total_bytes']:,} of {egress['critical_bytes']:,.0f} "
                    "critical bytes")
    if stopped % 360:
        pytest.fail(f"the CMG stopped at model second {stopped}, not at a six-minute check")
    wrong = [o for o in fleet.failed if (o.error or "").upper() != code.upper() or (o.end_s or 0) < stopped - 1e-9]
    if wrong or not fleet.failed:
        example = "" if not wrong else (f", {wrong[0].name} with {wrong[0].error} at model second "
                                        f"{wrong[0].end_s:g} (the stop: {stopped:g})")
        pytest.fail(f"expected the clients after the stop to fail with {code} ({hresult_text(int(code, 16))}); "
                    f"{len(fleet.failed)} failed, {len(wrong)} otherwise{example}")


@then(parsers.parse("storage starts the package's file for at most {count:n} of the fleet's clients a second"))
def storage_rate(fleet: FleetResult, count: int) -> None:
    """Counted from when each client's content began to come and when it was through, a second at a time."""
    per_second: dict[int, int] = {}
    for outcome in fleet.outcomes:
        if outcome.end_s is not None and outcome.error is None:
            per_second[int(outcome.end_s)] = per_second.get(int(outcome.end_s), 0) + 1
    busiest = max(per_second.items(), key=lambda item: item[1], default=(0, 0))
    if busiest[1] > count:
        pytest.fail(f"{busiest[1]} of the fleet's clients got their file in model second {busiest[0]}, more than "
                    f"{count}")


@then(parsers.parse("every client of the fleet starts the upgrade step within {duration} of the first wave"))
def all_within_of_first_wave(fleet: FleetResult, duration: str) -> None:
    """The last client's upgrade step begins no later than that, counted from the fleet's start."""
    limit = parse_duration(duration)
    late = [o for o in fleet.outcomes if o.step_start_s is None or o.step_start_s > limit + 1e-9]
    if late:
        last = max(late, key=lambda o: o.step_start_s or float("inf"))
        pytest.fail(f"{len(late)} of the fleet's clients had not started the upgrade step {limit:.0f} s after the "
                    f"first wave; {last.name} " + ("never did" if last.step_start_s is None else
                                                   f"did at {last.step_start_s:.0f} s"))


@given(parsers.parse("the CMG's content goes out at most {bandwidth} in all"))
def shared_content_rate(storage: ServiceDriver, bandwidth: str) -> None:
    """Every download from the CMG's storage shares that rate, in model bytes, first come first served: many
    clients at once stretch the wave instead of each getting the whole rate. [INFERENCE] The documentation gives
    no figure for a CMG's outbound bandwidth; without this step downloads take no model time."""
    storage.call("PUT", "/_harness/storage/egress", {"bytes_per_second": parse_bandwidth(bandwidth) * 1e6 / 8})


@then(parsers.parse("the fleet's content never went out faster than {bandwidth} in all"))
def content_rate_at_most(fleet: FleetResult, bandwidth: str) -> None:
    """For the clients that started together (a wave, or a moment of one), the model bytes they downloaded over
    the time from the first one's download starting to the last one's ending, against that rate (1 % for the
    second the clock rounds to)."""
    together: dict[float, list[ClientOutcome]] = {}
    for outcome in fleet.outcomes:
        if outcome.content_s is not None and outcome.end_s is not None and outcome.error is None:
            together.setdefault(outcome.start_s, []).append(outcome)
    if not together:
        pytest.fail("no client of the fleet downloaded anything")
    limit = parse_bandwidth(bandwidth)
    for start, clients in sorted(together.items()):
        span = max(o.end_s or 0.0 for o in clients) - min(o.content_s or 0.0 for o in clients)
        rate = sum(o.downloaded_bytes for o in clients) * 8 / 1e6 / max(span, 1e-3)
        if rate > limit * 1.01:
            pytest.fail(f"the {len(clients)} clients that started at {start:.0f} s downloaded at {rate:,.0f} Mbit/s "
                        f"over {span:.0f} s, faster than {limit:,.0f} Mbit/s")


@then("no intranet client of the fleet waits for the CMG, and every internet client does")
def intranet_bypasses_cmg(fleet: FleetResult) -> None:
    """Intranet clients' content comes from the management point and their distribution point: their time at the
    CMG is none; every internet client's is some (its places there)."""
    intranet = [o for o in fleet.outcomes if o.kind.network == "intranet"]
    internet = [o for o in fleet.outcomes if o.kind.network == "internet"]
    if not intranet or not internet:
        pytest.fail(f"the fleet has {len(intranet)} intranet and {len(internet)} internet clients: it needs both")
    through = [o for o in intranet if o.cmg_wait_s > 0]
    around = [o for o in internet if o.cmg_wait_s == 0]
    if through or around:
        pytest.fail(f"{len(through)} intranet clients spent time at the CMG and {len(around)} internet clients "
                    "none")

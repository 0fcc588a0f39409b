"""Real load through Locust: many of the harness's emulated clients at once, in real time, through the CMG
(`cmg-harness load` in a step), and what the load's statistics must show."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_bdd import parsers, then, when

from harness.environments.base import Environment
from harness.load.prepare import prepare
from harness.load.runner import LoadResult, describe, run_locust
from harness.reporting.attach import attach_text


@when(parsers.parse("{count:d} clients load the CMG for {seconds:d} seconds of real time"), target_fixture="load")
def clients_load_the_cmg(environment: Environment, count: int, seconds: int, tmp_path: Path) -> LoadResult:
    """Runs that many of the harness's emulated internet clients as Locust users, all started within the first
    second, for that many real seconds (at most 10,000 clients and an hour). Each client goes through the CMG
    again and again: registration, policy, a content location request, and the content download. The site gets
    an available on-demand deployment of a package on the CMG and a registration token for each client first.
    Locust's figures are attached to the report."""
    target = prepare(environment, clients=count)
    result = run_locust(target.save(tmp_path / "target.json"), tmp_path / "load", users=count,
                        spawn_rate=count, seconds=seconds)
    attach_text("load statistics", describe(result))
    return result


@then(parsers.parse("at most {percent:d} % of the load's requests fail"))
def at_most_failed(load: LoadResult, percent: int) -> None:
    """Failed requests (an error status, a refused or broken connection) over all requests of the load."""
    if load.failure_ratio * 100 > percent:
        pytest.fail(f"{load.failure_ratio:.2%} of the load's {load.request_count} requests failed, more than "
                    f"{percent} %:\n{describe(load)}")


@then(parsers.parse("{share:d} % of the load's client flows complete within {seconds:d} seconds"))
def flows_complete_within(load: LoadResult, share: int, seconds: int) -> None:
    """Locust's percentile of whole client flows (registration to the last byte of content), in real seconds."""
    flows = load.flows
    if flows is None or flows.requests == 0:
        pytest.fail(f"the load completed no client flow:\n{describe(load)}")
    took = flows.percentile(share) / 1000
    if took > seconds:
        pytest.fail(f"{share} % of the load's client flows took up to {took:.1f} s, more than {seconds} s:\n"
                    f"{describe(load)}")


@then("every client of the load completes at least one client flow")
def every_client_completes(load: LoadResult) -> None:
    """There were at least as many successful client flows as clients."""
    flows = load.flows
    done = 0 if flows is None else flows.requests - flows.failures
    if done < load.users:
        pytest.fail(f"{done} client flows succeeded, fewer than the load's {load.users} clients:\n{describe(load)}")

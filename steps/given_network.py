"""Given steps: the network between clients and services, in the fault proxies (Toxiproxy's toxics): outages,
links, cuts, stalls, slices and resets, now or later in the run. Sizes and durations are model units, converted
with the environment's scale.

Every step here arms a fault: a scenario that uses one carries `@faults` (tests/unit/test_fault_tags.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_bdd import given, parsers

from harness.clock.timer import ModelTimer
from harness.drivers.network import NetworkDriver
from harness.environments.base import Environment
from harness.model.units import parse_bandwidth, parse_duration, parse_size
from steps.vocabulary import SERVICES


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



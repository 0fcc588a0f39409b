"""The CMG's documented capacity and egress rules, as bookkeeping: clients per VM, one file's 500 requests a
second, and the egress threshold checked every six minutes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.model.cmg_capacity import (
    CHECK_EVERY_S,
    EGRESS_WINDOW_S,
    MAX_VMS,
    EgressMeter,
    FileRequests,
    Places,
    SharedEgress,
    VmSize,
    client_capacity,
)


@pytest.mark.parametrize(("size", "clients"), [(VmSize.CLASSIC, 6000), (VmSize.STANDARD_A2_V2, 6000),
                                              (VmSize.CSP_SCALE_SET, 2000), (VmSize.LAB_B2S, 10),
                                              (VmSize.LARGE_A4_V2, 10000)])
def test_each_size_carries_its_documented_clients_per_vm(size: VmSize, clients: int) -> None:
    assert client_capacity(size, 1) == clients
    assert client_capacity(size, MAX_VMS) == clients * 16


@pytest.mark.parametrize("vms", [0, 17, -1])
def test_a_cmg_has_one_to_sixteen_vms(vms: int) -> None:
    with pytest.raises(ValueError, match="a CMG has 1 to 16 VM instances"):
        client_capacity(VmSize.STANDARD_A2_V2, vms)


def test_a_size_is_read_in_the_consoles_words_or_by_name() -> None:
    assert VmSize.parse("Standard (A2_v2)") is VmSize.STANDARD_A2_V2
    assert VmSize.parse("lab_b2s") is VmSize.LAB_B2S
    with pytest.raises(ValueError, match="unknown CMG VM size 'huge'"):
        VmSize.parse("huge")


@given(st.lists(st.tuples(st.floats(0, 100), st.integers(1, 50)), min_size=1, max_size=40))
def test_one_file_never_starts_more_than_500_requests_a_second(arrivals: list[tuple[float, int]]) -> None:
    """However requests arrive, a window of one second holds at most 500 starts, and none starts early."""
    limiter, starts = FileRequests(), []
    for at, count in sorted(arrivals):
        last = limiter.admit(at, count)
        first = last - (count - 1) / 500
        assert first >= at - 1e-9
        starts += [first + i / 500 for i in range(count)]
    for i, start in enumerate(starts):
        assert sum(1 for other in starts[i:] if other < start + 1 - 1e-9) <= 500


def test_a_burst_of_2000_requests_for_one_file_takes_four_seconds_to_start() -> None:
    assert FileRequests().admit(10.0, 2000) == pytest.approx(10.0 + 1999 / 500)


def test_the_cmg_stops_at_the_first_six_minute_check_past_90_percent() -> None:
    meter = EgressMeter(threshold_bytes=1000, stop_at_critical=True)
    meter.record(100.0, 899)
    assert not meter.advance(CHECK_EVERY_S)  # 89.9 % at the first check: still running
    meter.record(CHECK_EVERY_S + 1, 1)  # 90 % just after it…
    assert not meter.advance(CHECK_EVERY_S + 200)  # …and no check until the next six minutes are up
    assert meter.advance(3 * CHECK_EVERY_S) and meter.stopped_at == 2 * CHECK_EVERY_S


def test_each_check_counts_only_what_was_sent_by_its_own_time() -> None:
    meter = EgressMeter(threshold_bytes=1000, stop_at_critical=True)
    meter.record(CHECK_EVERY_S + 10, 950)  # after the first check, before the second
    assert meter.advance(5 * CHECK_EVERY_S) and meter.stopped_at == 2 * CHECK_EVERY_S


def test_without_stop_at_critical_the_cmg_keeps_running_past_the_threshold() -> None:
    meter = EgressMeter(threshold_bytes=1000, stop_at_critical=False)
    meter.record(1.0, 5000)
    assert not meter.advance(10 * CHECK_EVERY_S)


def test_egress_older_than_fourteen_days_no_longer_counts() -> None:
    meter = EgressMeter(threshold_bytes=1000)
    meter.record(0.0, 700)
    meter.record(10.0, 100)
    assert meter.total(EGRESS_WINDOW_S - 1) == 800
    assert meter.total(EGRESS_WINDOW_S + 5) == 100


@pytest.mark.parametrize(("threshold", "critical"), [(0, 0.9), (1000, 0.0), (1000, 1.5)])
def test_a_threshold_that_cannot_be_is_refused(threshold: int, critical: float) -> None:
    with pytest.raises(ValueError, match="threshold must be above 0 bytes"):
        EgressMeter(threshold_bytes=threshold, critical=critical)


def test_egress_is_recorded_in_time_order() -> None:
    meter = EgressMeter()
    meter.record(10.0, 1)
    with pytest.raises(ValueError, match="out of order"):
        meter.record(5.0, 1)


def test_requests_within_capacity_are_answered_after_their_own_service_time() -> None:
    places = Places(capacity=10, request_s=1.0)
    assert places.admit(0.0, 10) == [1.0] * 10


def test_requests_over_capacity_wait_for_the_first_place_to_free_in_arrival_order() -> None:
    places = Places(capacity=10, request_s=1.0)
    done = places.admit(0.0, 25)
    assert done == [1.0] * 10 + [2.0] * 10 + [3.0] * 5
    # Five places free at 2.0 (the 11th to 20th request's): one arriving at 0.5 takes one then, done at 3.0.
    assert places.admit(0.5, 1) == [2.5]


@given(st.integers(1, 50), st.lists(st.tuples(st.floats(0, 50), st.integers(1, 40)), min_size=1, max_size=30))
def test_never_more_requests_in_service_than_places(capacity: int, arrivals: list[tuple[float, int]]) -> None:
    places, spans = Places(capacity=capacity, request_s=2.0), []
    for at, count in sorted(arrivals):
        spans += [(at + done - 2.0, at + done) for done in places.admit(at, count)]
    for start, _ in spans:
        assert sum(1 for s, e in spans if s <= start < e - 1e-9) <= capacity


def test_without_a_rate_downloads_take_no_time() -> None:
    assert SharedEgress().send(5.0, [10**9] * 3) == [5.0, 5.0, 5.0]


def test_downloads_share_the_rate_in_turn() -> None:
    egress = SharedEgress(bytes_per_second=100.0)
    assert egress.send(0.0, [100, 100, 300]) == [1.0, 2.0, 5.0]
    assert egress.send(3.0, [100]) == [6.0]  # after those before it


@given(st.floats(1, 1e6), st.lists(st.tuples(st.floats(0, 100), st.integers(0, 10**6)), min_size=1, max_size=50))
def test_the_shared_rate_is_never_exceeded(rate: float, downloads: list[tuple[float, int]]) -> None:
    egress, first, total, last = SharedEgress(bytes_per_second=rate), None, 0, 0.0
    for at, size in sorted(downloads):
        end = egress.send(at, [size])[0]
        first = at if first is None else first
        total, last = total + size, max(last, end)
    assert first is not None and total / rate <= last - first + 1e-6

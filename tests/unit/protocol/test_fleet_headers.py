"""The fleet headers: a cohort's size, and when each member's answer is done, read back as written."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.protocol.fleet_headers import FleetHeaderError, read_clients, read_done, write_done


def test_runs_of_equal_offsets_are_written_once_with_their_count() -> None:
    assert write_done([1.0] * 200 + [2.0] * 50 + [2.5]) == "1*200,2*50,2.5"


@given(st.lists(st.floats(0, 1e6, allow_nan=False).map(lambda x: round(x, 3)), min_size=1, max_size=300))
def test_offsets_read_back_as_written(offsets: list[float]) -> None:
    assert read_done(write_done(offsets)) == pytest.approx(offsets)


@pytest.mark.parametrize("value", ["", "x", "1*y", "-1", "1*", "1*0"])
def test_an_unreadable_done_header_is_named(value: str) -> None:
    with pytest.raises(FleetHeaderError, match="x-harness-model-done"):
        read_done(value)


def test_a_cohort_has_1_to_100000_clients() -> None:
    assert read_clients(None) is None and read_clients(" 250 ") == 250
    for bad in ("0", "-3", "many", "100001"):
        with pytest.raises(FleetHeaderError, match=r"x-harness-fleet-clients: .* is not a number of clients"):
            read_clients(bad)

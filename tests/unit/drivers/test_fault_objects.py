"""The drivers' typed faults: each modifier returns a new fault, the defaults are once, on any method, at any time,
and whatever a scenario composes is JSON the services' fault table accepts as the same fault."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.drivers.faults import Corrupt, Cut, Delay, Fault, Status
from harness.service.fault_json import parse_fault

PATH = "/content/PS100011/"

kinds: st.SearchStrategy[Fault] = st.one_of(
    st.builds(Status, st.sampled_from([400, 404, 500]), retry_after=st.none()),
    st.builds(Status, st.sampled_from([429, 503]), retry_after=st.one_of(st.none(), st.integers(0, 3600))),
    st.builds(Delay, st.floats(0, 86400, allow_nan=False)),
    st.builds(Cut, after=st.integers(0, 10**9)),
    st.builds(Corrupt, every=st.integers(1, 10**6)),
)


@st.composite
def composed(draw: st.DrawFn) -> Fault:
    fault = draw(kinds)
    if draw(st.booleans()):
        fault = fault.times(draw(st.integers(1, 100)))
    if draw(st.booleans()):
        fault = fault.unlimited()
    if draw(st.booleans()):
        start = draw(st.floats(0, 86400, allow_nan=False))
        end = st.floats(start, 2 * 86400, allow_nan=False, exclude_min=True)
        fault = fault.during(start, draw(st.one_of(st.none(), end)))
    if draw(st.booleans()):
        fault = fault.with_probability(draw(st.floats(0, 1, allow_nan=False)), draw(st.integers(0, 2**31)))
    return fault.on(draw(st.sampled_from(["*", "GET", "PROPFIND"]))).because(draw(st.sampled_from(["", "busy"])))


def test_the_defaults_are_once_on_any_method_at_any_time() -> None:
    assert Status(503).to_json(PATH) == {"path": PATH, "kind": "status", "method": "*", "count": 1, "status": 503}


def test_a_modifier_returns_a_new_fault() -> None:
    once = Cut(after=10)
    twice = once.times(2)
    assert (once.count, twice.count) == (1, 2) and twice.after == 10


def test_a_window_that_ends_before_it_opens_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="ends after it opens, not at 60 model s after 60"):
        Status(503).during(60, 60)


@given(composed())
def test_the_services_read_what_the_drivers_write_as_the_same_fault(fault: Fault) -> None:
    body: dict[str, Any] = fault.to_json(PATH)
    parsed = parse_fault(body)
    assert (parsed.path, parsed.method, parsed.count, parsed.kind) == (PATH, fault.method, fault.count, fault.kind)
    assert parsed.to_json()["window"] == body.get("window")
    assert parsed.to_json().get("probability") == fault.probability

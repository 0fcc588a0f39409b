"""The fault table on its own, with a clock the test moves: which requests a fault acts on, for how long, how
often, and what the listing says. What each kind does to an exchange is in tests/contract/test_faults.py."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness.model.units import Scale
from harness.service.fault_effects import FaultedSend, cut_on_purpose, inverted, quiet_uvicorn_about_deliberate_cuts
from harness.service.fault_json import parse_fault
from harness.service.faults import Answer, Corrupt, Delay, Fault, FaultTable, Truncate, Window

CONTENT = "/downloadrestservice.svc/getcontentxmlsecure"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def table(clock: FakeClock) -> FaultTable:
    return FaultTable(clock)


def arm(table: FaultTable, **fields: Any) -> dict[str, Any]:
    return table.arm(parse_fault({"path": CONTENT, "status": 503, **fields}))


def statuses(table: FaultTable, requests: int, path: str = CONTENT) -> list[int | None]:
    """What each of `requests` GETs would be answered with: a fault's status, or None for the service."""
    answers = []
    for _ in range(requests):
        answer = next((f.effect for f in table.take("GET", path) if isinstance(f.effect, Answer)), None)
        answers.append(None if answer is None else answer.status)
    return answers


# -- the JSON ---------------------------------------------------------------------------------------------------


def test_the_original_shape_is_a_status_fault_for_the_next_request() -> None:
    fault = parse_fault({"path": CONTENT, "status": 403, "count": 2, "method": "get", "reason": "token expired"})
    assert fault == Fault(CONTENT, Answer(403), method="GET", reason="token expired", count=2)


@pytest.mark.parametrize("fault", [
    Fault(CONTENT, Answer(503, retry_after_s=30), count=None, window=Window(60, 600)),
    Fault("/SMS_DP_SMSPKG$", Delay(12.5), method="GET", probability=0.25, seed=7),
    Fault("/", Truncate(0), reason="storage reset the connection"),
    Fault("/x", Corrupt(), window=Window(10, None)),
])
def test_a_listed_fault_can_be_posted_again_as_it_is(fault: Fault) -> None:
    assert parse_fault(fault.to_json()) == fault


# -- which requests ---------------------------------------------------------------------------------------------


def test_count_is_the_number_of_requests_answered(table: FaultTable) -> None:
    arm(table, count=2)
    assert statuses(table, 3) == [503, 503, None]
    assert table.armed() == []


def test_a_null_count_has_no_limit(table: FaultTable) -> None:
    arm(table, count=None)
    assert statuses(table, 50) == [503] * 50
    (listed,) = table.armed()
    assert (listed["remaining"], listed["fired"]) == (None, 50)


def test_a_fault_acts_on_paths_under_its_own_and_its_method_only(table: FaultTable) -> None:
    arm(table, path="/SMS_DP_SMSPKG$/PS100011", method="GET")
    assert table.take("GET", "/SMS_DP_SMSPKG$/PS100012/content.bin") == []
    assert table.take("PROPFIND", "/SMS_DP_SMSPKG$/PS100011/") == []
    assert [f.kind for f in table.take("GET", "/SMS_DP_SMSPKG$/PS100011/content.bin")] == ["status"]


def test_body_faults_pass_over_head_requests_which_have_no_body(table: FaultTable) -> None:
    table.arm(parse_fault({"path": "/", "kind": "truncate", "after_bytes": 10}))
    assert table.take("HEAD", "/SMS_DP_SMSPKG$/PS100011/content.bin") == []
    assert [f.kind for f in table.take("GET", "/SMS_DP_SMSPKG$/PS100011/content.bin")] == ["truncate"]


def test_one_fault_of_each_kind_acts_on_a_request_oldest_first(table: FaultTable) -> None:
    arm(table, status=503)
    arm(table, status=500)
    table.arm(parse_fault({"path": CONTENT, "kind": "delay", "delay_s": 5}))
    assert [(f.kind, f.effect) for f in table.take("GET", CONTENT)] == [("status", Answer(503)),
                                                                        ("delay", Delay(5.0))]
    assert statuses(table, 2) == [500, None]


# -- when -------------------------------------------------------------------------------------------------------


def test_a_window_opens_and_closes_in_model_seconds_after_arming(table: FaultTable, clock: FakeClock) -> None:
    arm(table, count=None, window={"from_s": 60, "until_s": 120})
    assert table.armed()[0]["state"] == "waiting"
    assert statuses(table, 1) == [None]
    clock.advance(60)
    assert table.armed()[0]["state"] == "active"
    assert statuses(table, 2) == [503, 503]
    clock.advance(59.9)
    assert statuses(table, 1) == [503]
    clock.advance(0.1)
    assert table.armed() == []
    assert statuses(table, 1) == [None]


def test_requests_before_the_window_do_not_use_up_the_count(table: FaultTable, clock: FakeClock) -> None:
    arm(table, count=1, window={"from_s": 30})
    assert statuses(table, 3) == [None, None, None]
    clock.advance(3600)
    assert statuses(table, 2) == [503, None]


def test_a_fault_used_up_inside_its_window_leaves_at_once(table: FaultTable) -> None:
    arm(table, count=1, window={"from_s": 0, "until_s": 600})
    assert statuses(table, 1) == [503]
    assert table.armed() == []


# -- how often --------------------------------------------------------------------------------------------------


def test_the_same_seed_makes_the_same_decisions(clock: FakeClock) -> None:
    runs = []
    for _ in range(2):
        table = FaultTable(clock)
        arm(table, count=None, probability=0.3, seed=42)
        runs.append(statuses(table, 200))
    assert runs[0] == runs[1]
    assert 30 <= runs[0].count(503) <= 90  # about 60 of 200


def test_another_seed_makes_other_decisions(table: FaultTable) -> None:
    arm(table, count=None, probability=0.5, seed=1, path="/a")
    arm(table, count=None, probability=0.5, seed=2, path="/b")
    assert statuses(table, 64, "/a") != statuses(table, 64, "/b")


def test_the_dice_are_rolled_only_for_matching_requests(clock: FakeClock) -> None:
    """Requests to other paths in between change nothing: decisions depend on the matching requests alone."""
    alone, interleaved = FaultTable(clock), FaultTable(clock)
    for table in (alone, interleaved):
        arm(table, count=None, probability=0.5, seed=9)
    expected = statuses(alone, 40)
    got = []
    for _ in range(40):
        interleaved.take("GET", "/SMS_DP_SMSPKG$/PS100011/content.bin")
        got.extend(statuses(interleaved, 1))
    assert got == expected


def test_with_a_probability_count_is_the_number_of_requests_answered(table: FaultTable) -> None:
    arm(table, count=3, probability=0.5, seed=3)
    assert statuses(table, 100).count(503) == 3


@pytest.mark.parametrize(("probability", "expected"), [(0, None), (1, 503)])
def test_probability_zero_never_acts_and_one_always_does(table: FaultTable, probability: float,
                                                         expected: int | None) -> None:
    arm(table, count=None, probability=probability)
    assert statuses(table, 20) == [expected] * 20


# -- the listing -------------------------------------------------------------------------------------------------


def test_the_listing_shows_each_fault_as_armed_and_what_it_has_done(table: FaultTable) -> None:
    arm(table, count=3, reason="throttled", retry_after_s=30)
    statuses(table, 1)
    assert table.armed() == [{
        "id": 1, "path": CONTENT, "method": "*", "kind": "status", "reason": "throttled", "status": 503,
        "retry_after_s": 30, "count": 3, "window": None, "probability": None, "seed": None,
        "remaining": 2, "fired": 1, "state": "active", "armed_at": "2026-11-02T08:00:00+00:00"}]
    table.clear()
    assert table.armed() == []


# -- what the body faults do to the bytes ---------------------------------------------------------------------------


def test_inverting_in_chunks_is_inverting_the_whole() -> None:
    body = bytes(range(256)) * 10
    whole = inverted(body, 0, 100)
    assert [i for i in range(len(body)) if whole[i] != body[i]] == list(range(0, len(body), 100))
    assert all(whole[i] == body[i] ^ 0xFF for i in range(0, len(body), 100))
    chunks = [body[i:i + 333] for i in range(0, len(body), 333)]
    assert b"".join(inverted(chunk, i * 333, 100) for i, chunk in enumerate(chunks)) == whole


def test_a_cut_across_chunks_sends_the_bytes_before_it_and_nothing_after() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def stream() -> FaultedSend:
        faulted = FaultedSend([parse_fault({"path": "/", "kind": "truncate", "after_bytes": 1000})], Scale(), send)
        await faulted({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1200")]})
        for _ in range(3):
            await faulted({"type": "http.response.body", "body": b"x" * 400, "more_body": True})
        await faulted({"type": "http.response.body", "body": b"", "more_body": False})
        return faulted

    assert asyncio.run(stream()).cut_short
    assert [len(m.get("body", b"")) for m in sent] == [0, 400, 400, 200]
    assert sent[-1]["more_body"] is True
    assert sent[0]["headers"] == [(b"content-length", b"1200")]


def test_only_the_complaint_about_a_deliberate_cut_is_dropped() -> None:
    quiet_uvicorn_about_deliberate_cuts()
    logger = logging.getLogger("uvicorn.error")
    complaint = logger.makeRecord("uvicorn.error", logging.ERROR, __file__, 1,
                                  "ASGI callable returned without completing response.", (), None)
    other = logger.makeRecord("uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application\n",
                              (), None)
    assert logger.filter(complaint)  # no cut in this context: a real app bug, logged

    def after_a_cut() -> tuple[bool, bool]:
        cut_on_purpose()
        return bool(logger.filter(complaint)), bool(logger.filter(other))

    assert contextvars.copy_context().run(after_a_cut) == (False, True)
    assert logger.filter(complaint)

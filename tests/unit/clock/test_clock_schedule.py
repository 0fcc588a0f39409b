"""The clock authority's bookkeeping: time moves only when nobody is busy, straight to the earliest wake-up,
one actor at a time, in an order that depends only on what was asked."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.clock.schedule import ClockError, Schedule, State


def test_time_jumps_to_the_earliest_wake_up_once_nobody_is_busy() -> None:
    schedule = Schedule()
    schedule.join("a")
    schedule.join("b")
    schedule.sleep("a", 240_000_000)
    assert schedule.release() is None  # b is busy: time stands still
    schedule.sleep("b", 60_000_000)
    assert schedule.release() == "b"
    assert schedule.now == 60_000_000
    assert schedule.release() is None  # b is busy again, until it waits
    schedule.leave("b")
    assert schedule.release() == "a"
    assert schedule.now == 240_000_000


def test_actors_due_at_the_same_instant_run_one_at_a_time_by_name() -> None:
    schedule = Schedule()
    for name in ("client/PC3/run/1", "client/PC1/run/1", "client/PC2/run/1"):
        schedule.join(name)
        schedule.sleep(name, 5)
    woken = []
    while (actor := schedule.release()) is not None:
        woken.append(actor)
        assert schedule.release() is None  # the next one waits until this one waits again
        schedule.leave(actor)
    assert woken == ["client/PC1/run/1", "client/PC2/run/1", "client/PC3/run/1"]


def test_an_idle_actor_neither_holds_time_back_nor_is_woken() -> None:
    schedule = Schedule()
    schedule.join("scenario")
    schedule.join("run")
    schedule.sleep("run", 10)
    assert schedule.release() is None
    schedule.idle("scenario")
    assert schedule.release() == "run"
    schedule.leave("run")
    assert schedule.release() is None
    assert schedule.state("scenario") is State.IDLE
    schedule.resume("scenario")
    assert schedule.busy == ["scenario"]


def test_a_wake_up_of_an_actor_that_left_is_dropped() -> None:
    schedule = Schedule()
    schedule.join("gone")
    schedule.sleep("gone", 10)
    schedule.leave("gone")
    assert schedule.release() is None
    assert schedule.now == 0


def test_a_manual_advance_releases_what_falls_due_on_the_way_then_lands_on_its_target() -> None:
    schedule = Schedule()
    schedule.join("run")
    schedule.sleep("run", 30)
    schedule.advance(100)
    assert schedule.release() == "run" and schedule.now == 30
    schedule.leave("run")
    assert schedule.release() is None
    assert schedule.now == 100


def test_reset_goes_back_to_the_epoch_and_cancels_the_sleepers() -> None:
    schedule = Schedule()
    schedule.join("run")
    schedule.join("scenario")
    schedule.sleep("run", 50)
    schedule.idle("scenario")
    schedule.release()
    assert schedule.now == 50
    schedule.sleep("run", 80)
    assert schedule.reset() == ["run"]
    assert schedule.now == 0 and schedule.next_due() is None
    assert schedule.state("scenario") is State.IDLE


@pytest.mark.parametrize(("action", "message"), [
    (lambda s: s.sleep("nobody", 1), "no actor 'nobody'"),
    (lambda s: (s.join("a"), s.join("a")), "already joined"),
    (lambda s: (s.join("a"), s.sleep("a", 5), s.sleep("a", 6)), "asleep, not busy"),
    (lambda s: (s.join("a"), s.sleep("a", 5), s.resume("a")), "only the clock wakes it"),
    (lambda s: s.advance(-1), "only moves forward"),
])
def test_what_a_state_does_not_allow_is_refused_by_name(action, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClockError, match=message):
        action(Schedule())


# Each actor sleeps a few times for drawn durations; between its sleeps it may go idle and come back.
_plans = st.dictionaries(st.sampled_from([f"client/PC{n}/run/1" for n in range(1, 6)]),
                         st.lists(st.integers(0, 50), min_size=1, max_size=6), min_size=1, max_size=5)


def _play(plans: dict[str, list[int]], order: list[str]) -> list[tuple[int, str]]:
    """Runs every actor's plan, joining in `order`; returns (time, actor) at every release."""
    schedule, left = Schedule(), {name: list(durations) for name, durations in plans.items()}
    for name in order:
        schedule.join(name)
    for name in order:  # each busy actor goes to sleep; the order they do so in is the machine's, not the model's
        schedule.sleep(name, schedule.now + left[name].pop(0))
    releases = []
    while (actor := schedule.release()) is not None:
        assert schedule.busy == [actor]
        releases.append((schedule.now, actor))
        if left[actor]:
            schedule.sleep(actor, schedule.now + left[actor].pop(0))
        else:
            schedule.leave(actor)
    return releases


@settings(max_examples=200, deadline=None)
@given(plans=_plans, data=st.data())
def test_the_timeline_depends_on_the_plans_only_never_on_the_order_things_happened_to_arrive_in(
        plans: dict[str, list[int]], data: st.DataObject) -> None:
    order = data.draw(st.permutations(sorted(plans)))
    releases = _play(plans, list(order))
    assert releases == _play(plans, sorted(plans))
    times = [t for t, _ in releases]
    assert times == sorted(times)  # time never goes back
    # every actor wakes exactly when its sleeps add up to
    for name, durations in plans.items():
        mine = [t for t, actor in releases if actor == name]
        assert mine == [sum(durations[:i + 1]) for i in range(len(durations))]

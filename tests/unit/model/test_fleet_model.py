"""A fleet's population (waves, mix, seeded starts), its cohorts, and the figures its runs add up to."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.model.fleet import (
    ClientKind,
    Population,
    Waves,
    cohorts,
    concurrent,
    cumulative,
    percentile,
    plan,
    share_within,
)

INTRANET_TOKEN = ClientKind("intranet", "token")


def test_waves_of_2000_every_30_minutes_start_on_the_half_hour() -> None:
    clients = plan(Population(10_000, Waves(2000, 1800)))
    assert len(clients) == 10_000 and clients[0].name == "FLEET00001"
    assert sorted({c.start_s for c in clients}) == [0, 1800, 3600, 5400, 7200]
    assert [sum(1 for c in clients if c.wave == w) for w in range(5)] == [2000] * 5


def test_a_spread_wave_starts_within_its_spread_and_the_seed_decides_where() -> None:
    population = Population(500, Waves(250, 3600, spread_s=600), seed=7)
    clients = plan(population)
    assert all(c.wave * 3600 <= c.start_s <= c.wave * 3600 + 600 for c in clients)
    assert plan(population) == clients
    assert plan(Population(500, Waves(250, 3600, spread_s=600), seed=8)) != clients


def test_a_mix_gives_each_kind_about_its_share() -> None:
    mix = ((ClientKind(), 0.8), (INTRANET_TOKEN, 0.2))
    clients = plan(Population(5000, Waves(5000, 0), mix=mix, seed=1))
    share = sum(c.kind == INTRANET_TOKEN for c in clients) / len(clients)
    assert 0.17 < share < 0.23


@pytest.mark.parametrize(("make", "words"), [
    (lambda: Population(0, Waves(1, 0)), "1 to 1,000,000 clients"),
    (lambda: Population(10, Waves(1, 0), mix=((ClientKind(), 0.5),)), "add up to 100 %"),
    (lambda: Waves(0, 60), "at least 1 client"),
    (lambda: ClientKind("moon", "pki"), "internet or intranet"),
], ids=["no-clients", "mix-short", "empty-wave", "unknown-network"])
def test_a_fleet_that_cannot_be_is_refused_naming_why(make: object, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        make()  # type: ignore[operator]


@given(st.integers(1, 3000), st.integers(1, 500), st.floats(0, 3600), st.integers(1, 200))
def test_cohorts_hold_every_client_once_and_never_exceed_the_limit(clients: int, size: int, spread: float,
                                                                   limit: int) -> None:
    planned = plan(Population(clients, Waves(size, 1800, spread_s=spread), seed=3))
    grouped = cohorts(planned, tick_s=1.0, limit=limit)
    assert len(grouped) <= limit
    members = [name for cohort in grouped for name in cohort.members]
    assert sorted(members) == sorted(c.name for c in planned)
    kind_of = {c.name: c.kind for c in planned}
    assert all(kind_of[name] == cohort.kind for cohort in grouped for name in cohort.members)


def test_clients_that_start_together_are_one_cohort() -> None:
    planned = plan(Population(6000, Waves(2000, 1800)))
    assert [(c.start_s, c.size) for c in cohorts(planned)] == [(0, 2000), (1800, 2000), (3600, 2000)]


def test_the_nearest_rank_percentile() -> None:
    values = list(range(1, 101))
    assert percentile(values, 95) == 95 and percentile(values, 100) == 100 and percentile([7.0], 50) == 7.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 95)


def test_a_share_within_a_limit_counts_what_never_happened_as_outside() -> None:
    assert share_within([10.0, 20.0, None, 40.0], 20.0) == 0.5


def test_concurrency_rises_at_starts_and_falls_at_ends() -> None:
    series = concurrent([(0, 10), (5, 15), (10, 20)])
    assert series.points == ((0, 1.0), (5, 2.0), (10, 2.0), (15, 1.0), (20, 0.0))
    assert series.peak == 2.0


def test_a_cumulative_series_adds_up_in_time_order() -> None:
    assert cumulative([(5, 2.0), (1, 1.0)]).points == ((1, 1.0), (5, 3.0))

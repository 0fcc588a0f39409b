"""Then steps on model time: when steps start, how long downloads and phases take, how retries are spaced.

Every figure is read from the client's timeline (model seconds since the user clicked Install) and judged to
the second on a virtual clock, or with the tolerance measured on these machines on the real clock
(harness/model/timing.py); failures say both figures in model time and print the run's timeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise

from pytest_bdd import parsers, then

from harness.drivers.run import RunResult
from harness.environments.base import Endpoints
from harness.model.timing import Tolerance
from harness.model.units import parse_duration


def _tolerance(endpoints: Endpoints) -> Tolerance:
    return Tolerance.for_clock(endpoints.clock)


@contextmanager
def _explained(run: RunResult) -> Iterator[None]:
    """A timing that is off comes with the run's timeline: which part of the run took the time."""
    try:
        yield
    except AssertionError as error:
        raise AssertionError(f"{error}\n{run.describe()}") from None


def _successful_attempt(run: RunResult, package_id: str) -> tuple[float, float]:
    """(start, end) in model seconds of the attempt at the package that succeeded."""
    end = next((e for e in run.events("download.end", package=package_id) if e["result"] == "succeeded"), None)
    assert end is not None, f"{package_id} was never downloaded:\n{run.describe()}"
    start = max(e["t"] for e in run.events("download.start", package=package_id) if e["t"] <= end["t"])
    return float(start), float(end["t"])


def _t(run: RunResult, kind: str, **match: str) -> float:
    return float(run.first(kind, **match)["t"])


@then(parsers.parse('the step "{step}" starts about {duration} after the task sequence starts'))
def step_starts_about(run: RunResult, endpoints: Endpoints, step: str, duration: str) -> None:
    """When the task sequence reached the step, before the step fetched any content it needs on demand."""
    measured = _t(run, "step.start", step=step) - _t(run, "ts.start")
    with _explained(run):
        _tolerance(endpoints).about(f'start of "{step}" after the task sequence started', measured,
                                    parse_duration(duration), endpoints.scale)


@then(parsers.parse('the step "{step}" begins its work about {duration} after the task sequence starts'))
def step_work_begins_about(run: RunResult, endpoints: Endpoints, step: str, duration: str) -> None:
    """When the step's own action began: after the content it needs on demand has arrived (for a step without
    content, the same moment as its start)."""
    measured = _t(run, "step.action", step=step) - _t(run, "ts.start")
    with _explained(run):
        _tolerance(endpoints).about(f'work of "{step}" after the task sequence started', measured,
                                    parse_duration(duration), endpoints.scale)


@then(parsers.parse("the pre-download phase takes between {low} and {high}"))
def predownload_between(run: RunResult, endpoints: Endpoints, low: str, high: str) -> None:
    """From the start of "Download all content locally before starting task sequence" to the moment every package
    was in the cache, judged without the relative part of the tolerance (the bounds are the scenario's)."""
    measured = _t(run, "predownload.end") - _t(run, "predownload.start")
    with _explained(run):
        _tolerance(endpoints).between("pre-download phase", measured, parse_duration(low), parse_duration(high),
                          endpoints.scale)


@then(parsers.parse("the download of {package_id} takes about {duration}"))
def download_takes_about(run: RunResult, endpoints: Endpoints, package_id: str, duration: str) -> None:
    """From the start of the attempt that succeeded to its end."""
    start, end = _successful_attempt(run, package_id)
    with _explained(run):
        _tolerance(endpoints).about(f"download of {package_id}", end - start, parse_duration(duration),
                        endpoints.scale)


@then(parsers.parse("the download of {package_id} takes at least {duration}"))
def download_takes_at_least(run: RunResult, endpoints: Endpoints, package_id: str, duration: str) -> None:
    """A lower bound: for faults whose exact cost depends on how the bytes happen to be chunked (a slicer)."""
    start, end = _successful_attempt(run, package_id)
    slack = _tolerance(endpoints).slack(endpoints.scale)
    assert end - start >= parse_duration(duration) - slack, (
        f"download of {package_id} took {end - start:.1f} model s, expected at least {duration}")


@then(parsers.parse("the task sequence takes about {duration}"))
def task_sequence_takes_about(run: RunResult, endpoints: Endpoints, duration: str) -> None:
    """From the task sequence's start (after any pre-download) to its end, whatever the outcome."""
    measured = _t(run, "ts.end") - _t(run, "ts.start")
    with _explained(run):
        _tolerance(endpoints).about("task sequence", measured, parse_duration(duration), endpoints.scale)


@then(parsers.re(r"the download of (?P<package_id>\w+) is retried (?P<times>once|\d+ times), (?P<delay>.+) apart$"))
def retried_apart(run: RunResult, endpoints: Endpoints, package_id: str, times: str, delay: str) -> None:
    """Exactly that many retries, each starting `delay` after the failed attempt before it ended."""
    retries = 1 if times == "once" else int(times.split()[0])
    attempts = sorted(run.events("download.start", package=package_id) + run.events("download.end",
                      package=package_id), key=lambda e: e["t"])
    gaps = [later["t"] - earlier["t"] for earlier, later in pairwise(attempts)
            if earlier["event"] == "download.end" and earlier["result"] == "failed"
            and later["event"] == "download.start"]
    assert len(run.events("download.retry", package=package_id)) == retries == len(gaps), (
        f"{package_id}: {len(gaps)} retries, expected {retries}:\n{run.describe()}")
    expected = parse_duration(delay)
    for number, gap in enumerate(gaps, start=1):
        with _explained(run):
            _tolerance(endpoints).about(f"retry {number} of {package_id} after the failed attempt", gap, expected,
                            endpoints.scale)


@then(parsers.parse("the first step starts {what} after the task sequence starts"))
def first_step_starts(run: RunResult, endpoints: Endpoints, what: str) -> None:
    """'at once' (before any download) or 'about <duration>'."""
    measured = _t(run, "step.start") - _t(run, "ts.start")
    if what == "at once":
        with _explained(run):
            _tolerance(endpoints).about("first step start", measured, 0.0, endpoints.scale)
        return
    assert what.startswith("about "), f"say 'at once' or 'about <duration>', not {what!r}"
    with _explained(run):
        _tolerance(endpoints).about("first step start", measured, parse_duration(what.removeprefix("about ")),
                        endpoints.scale)



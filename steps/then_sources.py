"""Then steps: which sources a client tried, in which order, how it retried and resumed, and how a fleet's draws
spread over the cloud sources."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from pytest_bdd import parsers, then

from harness.drivers.run import RunResult
from harness.drivers.site import SiteDriver
from harness.environments.base import Endpoints
from harness.protocol.paths import DP_PACKAGE_VDIR
from steps.vocabulary import named, named_all, source_host


@then(parsers.re(r"the client tries (?P<first>.+) first, then (?P<second>.+)$"))
def tries_in_order(run: RunResult, endpoints: Endpoints, first: str, second: str) -> None:
    """For every package, the client put the sources in this order and, after the first one failed, fell back to
    the second."""
    expected = [source_host(endpoints, first), source_host(endpoints, second)]
    orders = run.events("location.order")
    assert orders, f"the client made no content request\n{run.describe()}"
    for order in orders:
        package = order["package"]
        assert order["order"] == expected, (
            f"for {package} the client's order was {named_all(endpoints, order['order'])}, not "
            f"{named_all(endpoints, expected)}\n{run.describe()}")
        tried = [e["source"] for e in run.events("download.start", package=package)]
        assert list(dict.fromkeys(tried)) == expected, (
            f"for {package} the client tried {named_all(endpoints, dict.fromkeys(tried))}\n{run.describe()}")
        fallback = run.first("download.fallback", package=package)
        assert [fallback["source"], fallback["next"]] == expected, (
            f"for {package} the client fell back from {named(endpoints, fallback['source'])} to "
            f"{named(endpoints, fallback['next'])}")


@then("the client never tries the on-premises distribution point")
def never_tries_dp(run: RunResult, endpoints: Endpoints, site: SiteDriver) -> None:
    """No attempt, no place in the client's order, and not one request to the site's DP vdirs."""
    host = source_host(endpoints, "the on-premises distribution point")
    assert run.events("location.order"), f"the client ordered no locations\n{run.describe()}"
    assert all(host not in e["order"] for e in run.events("location.order")), run.describe()
    assert not run.events("download.start", source=host), f"{named(endpoints, host)} was tried\n{run.describe()}"
    dp_requests = [e for e in site.journal() if DP_PACKAGE_VDIR.lower() in str(e["path"]).lower()]
    assert not dp_requests, f"the DP was asked: {dp_requests}"


@then(parsers.parse("the client waits {seconds:d} seconds before each of the {count:d} retries of {package_id}"))
def waits_before_retries(run: RunResult, seconds: int, count: int, package_id: str) -> None:
    """The retries on the timeline: exactly SMSTSDownloadRetryCount of them, each after SMSTSDownloadRetryDelay."""
    retries = run.events("download.retry", package=package_id)
    assert [e["retry"] for e in retries] == list(range(1, count + 1)), f"retries {retries}\n{run.describe()}"
    assert all(e["delay_s"] == seconds for e in retries), f"retry delays {[e['delay_s'] for e in retries]}"


@then(parsers.parse("the second attempt at {package_id} asks the on-premises distribution point only for the rest "
                    "of the file"))
def resumed_with_range(run: RunResult, site: SiteDriver, cut_after_bytes: int, package_id: str) -> None:
    """The retry resumed at the byte where the cut left the file, and the DP answered its Range with 206.

    The client's timeline has the offset it resumed at; the site's journal notes the range it served."""
    resume = run.first("download.resume", package=package_id)
    assert resume["offset"] == cut_after_bytes, f"resumed at byte {resume['offset']}, cut after {cut_after_bytes}"
    second = run.events("download.start", package=package_id)[1]
    assert second["t"] <= resume["t"] and second["attempt"] == 2, run.describe()
    files = [e for e in site.journal() if str(e["path"]).startswith(f"/{DP_PACKAGE_VDIR}/{package_id}/")]
    assert [e["status"] for e in files] == [200, 206], f"file requests: {files}"
    assert str(files[1]["note"]).startswith(f"range bytes={cut_after_bytes}-"), f"file requests: {files}"


@then(parsers.parse("{first} and {second} each serve at least {share:d} % of the content requests"))
def sources_share_requests(runs: list[RunResult], endpoints: Endpoints, first: str, second: str,
                           share: int) -> None:
    """Every run succeeded; each content request (one per package and client) was served by the source the client
    drew first for it, and each source drew at least that share of the requests."""
    hosts = [source_host(endpoints, first), source_host(endpoints, second)]
    served: Counter[str] = Counter()
    for run, package, drawn in _draws(runs):
        sources = {d["source"] for d in run.downloads(package) if d["result"] == "succeeded"}
        assert sources == {drawn}, (f"{run.state['client']} drew {named(endpoints, drawn)} first for {package} but "
                                    f"downloaded it from {named_all(endpoints, sources)}\n{run.describe()}")
        served[drawn] += 1
    per_source = {named(endpoints, host): count for host, count in served.items()}
    assert set(served) <= set(hosts), f"content requests per source: {per_source}"
    total = sum(served.values())
    assert all(served[h] * 100 >= share * total for h in hosts), f"content requests per source: {per_source}"


@then("some clients take different packages from different cloud sources")
def draws_differ_within_runs(runs: list[RunResult], endpoints: Endpoints) -> None:
    """At least one client drew a different first source for one package than for another: the order is drawn per
    content request, not once per client."""
    firsts: dict[str, set[str]] = {}
    for run, _, drawn in _draws(runs):
        firsts.setdefault(run.state["client"], set()).add(drawn)
    assert any(len(hosts) > 1 for hosts in firsts.values()), (
        "every client drew the same first source for all its packages: "
        f"{ {client: named_all(endpoints, hosts) for client, hosts in firsts.items()} }")


def _draws(runs: list[RunResult]) -> Iterator[tuple[RunResult, str, str]]:
    """(run, package, the source drawn first for it) of every content request of successful runs."""
    for run in runs:
        assert run.status == "succeeded", f"{run.state['client']}: {run.status} {run.reason}\n{run.describe()}"
        for order in run.events("location.order"):
            yield run, order["package"], order["order"][0]


@then(parsers.re(r"every download from (?P<source>.+) fails with (?P<code>0x[0-9A-Fa-f]{8})$"))
def downloads_from_source_fail(run: RunResult, endpoints: Endpoints, source: str, code: str) -> None:
    """The client tried that source at least once, and every attempt at it ended with that error code."""
    host = source_host(endpoints, source)
    ends = [e for e in run.downloads() if e["source"] == host]
    assert ends, f"{named(endpoints, host)} was never tried\n{run.describe()}"
    wrong = [f"{e['package']} attempt {e['attempt']}: {e['result']} {e.get('hresult', '')}".rstrip()
             for e in ends if e["result"] != "failed" or e["hresult"] != code.upper().replace("0X", "0x")]
    assert not wrong, f"downloads from {named(endpoints, host)} that did not fail with {code}: {wrong}"

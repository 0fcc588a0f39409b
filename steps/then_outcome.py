"""Then steps: assertions on what the client recorded (timeline, logs) and what services journaled."""

from __future__ import annotations

from pytest_bdd import parsers, then

from harness.drivers.base import ServiceDriver
from harness.drivers.clouddp import CloudDpDriver
from harness.drivers.cmg import CmgDriver
from harness.drivers.run import RunResult
from harness.drivers.site import SiteDriver
from harness.environments.base import Endpoints
from steps.fixtures import TaskSequenceSpec
from steps.vocabulary import named, named_all, source_host

# Requests the CMG forwards to the management point on a client's behalf.
FORWARDED_PATHS = ("/ccm_system_tokenauth/request", "/ccm_system/request", "/CCM_STS", "/SMS_MP/.sms_pol")


def _product_requests(driver: ServiceDriver) -> list[dict[str, object]]:
    return [e for e in driver.journal() if not str(e["path"]).startswith("/_harness")]


@then("the task sequence succeeds")
def succeeds(run: RunResult) -> None:
    """The run ended with exit code 0x00000000 and every step succeeded."""
    assert run.status == "succeeded", f"task sequence {run.status}: {run.reason}\n{run.describe()}"
    assert run.exit_code == "0x00000000"
    failed = {s: r for s, r in run.step_results().items() if r != "succeeded"}
    assert not failed, f"steps did not succeed: {failed}"
    run.first("ts.end", result="succeeded")


@then(parsers.parse('the task sequence fails at step "{step}" with {code}'))
def fails_at_step(run: RunResult, step: str, code: str) -> None:
    """The named step failed with the code, the task sequence failed with it, and smsts.log names it."""
    assert run.status == "failed", f"expected a failure, the run {run.status}\n{run.describe()}"
    assert run.state["failed_step"] == step, (f"failed at {run.state['failed_step']!r}: {run.reason}\n"
                                              f"{run.describe()}")
    assert run.exit_code == code.upper().replace("0X", "0x"), f"exit code {run.exit_code}: {run.reason}"
    run.first("step.end", step=step, result="failed", exit_code=run.exit_code)
    run.first("ts.end", result="failed", exit_code=run.exit_code)
    assert f"{int(code, 16):X}" in run.logs["smsts.log"], "smsts.log does not name the error code"


@then("the first step starts before any package is downloaded")
def first_step_before_downloads(run: RunResult) -> None:
    """The first step started before the first download started (on-demand, not pre-download)."""
    first_step = run.first("step.start")
    starts = run.events("download.start")
    assert starts, "nothing was downloaded"
    assert first_step["t"] < starts[0]["t"], (f"first download at {starts[0]['t']} model s, before the first step "
                                              f"at {first_step['t']}\n{run.describe()}")


@then(parsers.parse("each package is downloaded from {source} just before the step that needs it"))
def downloaded_just_before_each_step(run: RunResult, endpoints: Endpoints, task_sequence: TaskSequenceSpec,
                                     source: str) -> None:
    """Each package was downloaded once, from the source, after the previous step ended and before its step ended."""
    host = source_host(endpoints, source)
    previous_end = run.first("ts.start")["t"]
    for row in task_sequence.step_rows:
        end = run.first("step.end", step=row["step"])["t"]
        for package in task_sequence.step_packages(row):
            done = [d for d in run.downloads(package) if d["result"] == "succeeded"]
            assert len(done) == 1, f"{package} downloaded {len(done)} times\n{run.describe()}"
            start = run.first("download.start", package=package)["t"]
            assert previous_end <= start and done[0]["t"] <= end, (
                f"{package} was downloaded at {start}–{done[0]['t']} model s, not between the end of the "
                f"previous step ({previous_end}) and the end of {row['step']!r} ({end})\n{run.describe()}")
            assert done[0]["source"] == host, (f"{package} came from {named(endpoints, done[0]['source'])}, "
                                               f"not {named(endpoints, host)}")
        previous_end = end


@then(parsers.parse("every package is downloaded from {source} before the first step starts"))
def downloaded_before_first_step(run: RunResult, endpoints: Endpoints, task_sequence: TaskSequenceSpec,
                                 source: str) -> None:
    """Each package was downloaded once, from the source, before the first step started."""
    host = source_host(endpoints, source)
    first_step = run.first("step.start")["t"]
    for package_id in task_sequence.packages:
        done = [d for d in run.downloads(package_id) if d["result"] == "succeeded"]
        assert len(done) == 1, f"{package_id} downloaded {len(done)} times\n{run.describe()}"
        assert done[0]["t"] <= first_step, f"{package_id} finished at {done[0]['t']}, after the first step " \
                                           f"started at {first_step}\n{run.describe()}"
        assert done[0]["source"] == host, (f"{package_id} came from {named(endpoints, done[0]['source'])}, "
                                           f"not {named(endpoints, host)}")


@then(parsers.parse("every package is downloaded from {source}"))
def downloaded_from(run: RunResult, endpoints: Endpoints, task_sequence: TaskSequenceSpec, source: str) -> None:
    """Every package's successful download came from the named source."""
    host = source_host(endpoints, source)
    for package_id in task_sequence.packages:
        sources = {d["source"] for d in run.downloads(package_id) if d["result"] == "succeeded"}
        assert sources == {host}, (f"{package_id} came from {named_all(endpoints, sources)}, not "
                                   f"{named(endpoints, host)}\n{run.describe()}")


@then(parsers.parse('the client refuses to start the task sequence because "{reason}"'))
@then(parsers.parse('the client refuses to start the task sequence because "{reason}" is not set'))
def refused(run: RunResult, reason: str) -> None:
    """The client refused without starting the task sequence; its reason and execmgr.log contain the text."""
    assert run.status == "refused", f"expected a refusal, the run {run.status}: {run.reason}\n{run.describe()}"
    assert reason in run.reason, f"the client said: {run.reason}"
    assert not run.events("ts.start"), "the task sequence started anyway"
    assert reason in run.logs["execmgr.log"], "execmgr.log does not say why"


@then("no content is downloaded")
def nothing_downloaded(run: RunResult, cmg: CmgDriver) -> None:
    """No download was attempted and the CMG content service was never asked for content."""
    assert not run.events("download.start"), f"downloads happened\n{run.describe()}"
    assert not cmg.content_requests(), f"the CMG content service was asked for content: {cmg.content_requests()}"


@then(parsers.parse("the content location reply for {package_id} has no locations"))
def no_locations(run: RunResult, package_id: str) -> None:
    """The location reply was the empty FALLBACK reply and smsts.log says 'Processing 0 locations.'"""
    reply = run.first("location.reply", package=package_id)
    assert reply["locations"] == [] and reply["site_locality"] == "FALLBACK", f"reply: {reply}"
    assert "Processing 0 locations." in run.logs["smsts.log"]


@then(parsers.parse("the content location reply for {package_id} lists {source}"))
def reply_lists(run: RunResult, endpoints: Endpoints, package_id: str, source: str) -> None:
    """The management point offered that source for the package (whatever became of the download)."""
    host = source_host(endpoints, source)
    reply = run.first("location.reply", package=package_id)
    assert any(host in str(url) for url in reply["locations"]), (
        f"{named(endpoints, host)} is not in the reply for {package_id}: {reply['locations']}")


@then(parsers.parse("no content location reply lists {source}"))
def no_reply_lists(run: RunResult, endpoints: Endpoints, source: str) -> None:
    """The management point offered that source for no package (the run asked for locations at least once)."""
    host = source_host(endpoints, source)
    replies = run.events("location.reply")
    assert replies, f"the client asked for no content locations\n{run.describe()}"
    offered = [r for r in replies if any(host in str(url) for url in r["locations"])]
    assert not offered, (f"{named(endpoints, host)} was offered for "
                         f"{', '.join(str(r['package']) for r in offered)}\n{run.describe()}")


@then(parsers.parse("{source} refused every content request"))
def refused_every_content_request(clouddp: CloudDpDriver, source: str) -> None:
    """The stopped cloud DP was asked for content, and answered each request with 503."""
    assert source == "the cloud distribution point", f"only the cloud distribution point can be stopped, not {source}"
    requests = clouddp.content_requests()
    assert requests, "the cloud distribution point was never asked for content"
    assert all(int(str(e["status"])) == 503 for e in requests), f"content requests: {requests}"


@then("the client talked to the site only through the CMG")
def only_through_cmg(cmg: CmgDriver, site: SiteDriver) -> None:
    """Every request the site answered was one the CMG forwarded on the token path."""
    site_requests = _product_requests(site)
    through_cmg = [e for e in _product_requests(cmg) if "/CCM_Proxy_" in str(e["path"])]
    assert site_requests, "the site answered nothing"
    assert all(str(e["path"]) in FORWARDED_PATHS for e in site_requests), f"site requests: {site_requests}"
    assert len(through_cmg) == len(site_requests), (f"{len(site_requests)} requests reached the site but the CMG "
                                                    f"forwarded {len(through_cmg)}")


@then("the client never contacted the CMG")
def never_contacted_cmg(cmg: CmgDriver) -> None:
    """The CMG answered no product request (control API calls aside)."""
    requests = _product_requests(cmg)
    assert not requests, f"the CMG answered: {requests}"

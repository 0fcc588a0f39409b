"""Then steps about what happened inside the task sequence: steps, groups, variables, the client's disk."""

from __future__ import annotations

from pytest_bdd import parsers, then

from harness.drivers.agent import AgentDriver
from harness.drivers.run import RunResult
from harness.environments.base import Endpoints
from harness.protocol.content_url import CONTENT_PATH
from steps.vocabulary import named, source_host

# Gaps are measured in model seconds from real clocks; at high scale one real millisecond is several
# model seconds, so "at least N apart" allows this much for float rounding only, never for early retries.
ROUNDING_S = 0.5


@then(parsers.parse("the task sequence completes with {code}"))
def completes_with(run: RunResult, code: str) -> None:
    """The run ended with this exit code, whatever individual steps did."""
    assert run.exit_code == code, f"exit code {run.exit_code} ({run.status}): {run.reason}\n{run.describe()}"
    run.first("ts.end")


@then(parsers.parse('the step "{step}" fails with {code}'))
def step_fails_with(run: RunResult, step: str, code: str) -> None:
    """That step's own result, even if Continue on error let the task sequence go on."""
    run.first("step.end", step=step, result="failed", exit_code=code)


@then(parsers.parse('the step "{step}" runs'))
def step_runs(run: RunResult, step: str) -> None:
    """The step started (its condition held)."""
    run.first("step.start", step=step)


@then(parsers.re(r'the group "(?P<group>[^"]+)" (?P<what>runs|is skipped)$'))
def group_runs_or_skipped(run: RunResult, group: str, what: str) -> None:
    """A group's condition decided whether it ran."""
    if what == "runs":
        run.first("group.start", group=group)
    else:
        run.first("group.skipped", name=group)
        assert not run.events("group.start", group=group), f"{group} ran\n{run.describe()}"


@then(parsers.re(r'the task sequence variable (?P<variable>\w+) is "(?P<value>[^"]*)"$'))
def variable_is(run: RunResult, variable: str, value: str) -> None:
    """The variable's value when the task sequence ended."""
    actual = run.state["variables"].get(variable)
    assert actual == value, f"{variable} is {actual!r}"


@then(parsers.parse("the last content download location is the content service of {source}"))
def last_location(run: RunResult, endpoints: Endpoints, source: str) -> None:
    """_SMSTSLastContentDownloadLocation names the source's getcontentxmlsecure URL (without its query)."""
    location = run.state["variables"].get("_SMSTSLastContentDownloadLocation", "")
    host = source_host(endpoints, source)
    assert location.startswith(f"https://{host}:") and location.endswith(
        CONTENT_PATH), f"_SMSTSLastContentDownloadLocation is {location!r}"


@then(parsers.parse("the task sequence variable {variable} is not set"))
def variable_not_set(run: RunResult, variable: str) -> None:
    """The variable was never set."""
    assert variable not in run.state["variables"], f"{variable} is {run.state['variables'][variable]!r}"


@then(parsers.parse("{package_id} is saved in {folder}"))
def saved_in(run: RunResult, agent: AgentDriver, package_id: str, folder: str) -> None:
    """The package's content is in that folder of the client's disk after the run."""
    info = agent.file(run.state["client"], f"{folder}\\{package_id}")
    assert info["exists"] and info["entries"], f"{folder}\\{package_id} is missing or empty: {info}"


@then(parsers.parse('the content of {package_id} is removed when the step "{step}" ends'))
def removed_after_step(run: RunResult, package_id: str, step: str) -> None:
    """On-demand content leaves the task sequence cache as soon as its step is done (B-27)."""
    removed = run.first("content.removed", package=package_id)["t"]
    assert run.first("step.start", step=step)["t"] <= removed <= run.first("step.end", step=step)["t"]


@then(parsers.parse("the content of {package_id} stays until the task sequence ends"))
def kept_until_end(run: RunResult, package_id: str) -> None:
    """SMSTSPersistContent kept the content for the whole task sequence."""
    assert not run.events("content.removed", package=package_id), f"removed early\n{run.describe()}"


@then("the task sequence cache is removed and smsts.log is in C:\\Windows\\CCM\\Logs")
def cleaned_up(run: RunResult, agent: AgentDriver) -> None:
    """_SMSTaskSequence is gone and the log was moved out of smstslog (B-29)."""
    client = run.state["client"]
    assert not agent.file(client, "C:\\_SMSTaskSequence")["exists"], "C:\\_SMSTaskSequence is still there"
    log = agent.file(client, "C:\\Windows\\CCM\\Logs\\smsts.log")
    assert log["exists"] and log["size"], f"smsts.log was not moved: {log}"


@then(parsers.parse("the download of {package_id} from {source} is tried {attempts:d} times, "
                    "at least {seconds:d} seconds apart"))
def tried_apart(run: RunResult, endpoints: Endpoints, package_id: str, source: str, attempts: int,
                seconds: int) -> None:
    """Attempts counted on the timeline; each retry waits SMSTSDownloadRetryDelay after the failure."""
    host = source_host(endpoints, source)
    starts = [e["t"] for e in run.events("download.start", package=package_id, source=host)]
    ends = [e["t"] for e in run.events("download.end", package=package_id, source=host)]
    assert len(starts) == attempts, f"{len(starts)} attempts\n{run.describe()}"
    gaps = [start - end for end, start in zip(ends, starts[1:], strict=False)]
    assert all(gap >= seconds - ROUNDING_S for gap in gaps), f"retries {gaps} model s after failures\n{run.describe()}"


@then(parsers.parse("{package_id} is used from {source} without being downloaded"))
def accessed_directly(run: RunResult, endpoints: Endpoints, package_id: str, source: str) -> None:
    """"Access content directly": no download, the content is run from the DP's package share."""
    accessed = run.first("content.accessed", package=package_id)
    assert accessed["source"] == source_host(endpoints, source), (
        f"{package_id} was used from {named(endpoints, accessed['source'])}, not {source}")
    assert not run.events("download.start", package=package_id), f"it was downloaded\n{run.describe()}"


@then(parsers.re(r'the site refuses (?:the deployment|the task sequence|to create it) because "(?P<reason>[^"]+)"$'))
def site_refused(refusal: str | None, reason: str) -> None:
    """The admin API refused what the administrator tried, with a reason containing the text."""
    assert refusal is not None, "the site accepted it"
    assert reason in refusal, f"the site said: {refusal}"


@then(parsers.re(r"the site (?:accepts the deployment|creates it)$"))
def site_accepted(refusal: str | None) -> None:
    """What the administrator tried was accepted."""
    assert refusal is None, f"the site refused: {refusal}"


@then(parsers.re(r"the pre-cache is complete$"))
def precache_complete(precache: RunResult) -> None:
    """Every package went into ccmcache at the available time."""
    end = precache.first("precache.end")
    assert end["result"] == "complete", f"pre-cache {end}\n{precache.describe()}"


@then(parsers.parse("the pre-cache is incomplete, without {package_id}"))
def precache_incomplete(precache: RunResult, package_id: str) -> None:
    """The package could not be pre-cached; the others were."""
    end = precache.first("precache.end")
    assert end["result"] == "incomplete" and end["missing"] == [package_id], f"pre-cache {end}"


@then("the task sequence downloads nothing")
def downloads_nothing(run: RunResult) -> None:
    """All content was already on the client."""
    assert not run.events("download.start"), f"downloads happened\n{run.describe()}"


@then(parsers.parse("the task sequence downloads only {package_id}"))
def downloads_only(run: RunResult, package_id: str) -> None:
    """Only that package was fetched during the run; the rest came from the cache."""
    fetched = {e["package"] for e in run.events("download.start")}
    assert fetched == {package_id}, f"downloaded {sorted(fetched)}\n{run.describe()}"


@then(parsers.parse("the task sequence does not start and fails with {code}"))
def does_not_start(run: RunResult, code: str) -> None:
    """The deployment failed before TSManager ran a step (content, cache or policy problems)."""
    assert run.status == "failed" and run.exit_code == code, f"{run.status} {run.exit_code}: {run.reason}"
    assert not run.events("ts.start"), f"the task sequence started\n{run.describe()}"


@then(parsers.parse("every download of {package_id} is made by the client into its cache"))
def downloaded_by_client(run: RunResult, package_id: str) -> None:
    """The client's CAS path fetched it (UseAzure as the client settings say), not the task sequence engine."""
    requests = run.events("location.request", package=package_id)
    assert requests and all(r["use_azure"] for r in requests), f"location requests: {requests}"
    done = [d for d in run.downloads(package_id) if d["result"] == "succeeded"]
    assert len(done) == 1, f"{package_id} downloaded {len(done)} times\n{run.describe()}"
    assert f"Hash verification succeeded for content {package_id}" in run.logs["CAS.log"]


@then(parsers.parse("the client cache holds {count:d} packages after the run"))
def client_cache_holds(run: RunResult, agent: AgentDriver, count: int) -> None:
    """ccmcache after the task sequence: released unless SMSTSPreserveContent (B-28)."""
    info = agent.file(run.state["client"], "C:\\Windows\\ccmcache")
    held = len(info["entries"]) if info["exists"] else 0
    assert held == count, f"ccmcache holds {held} entries: {info}"


@then(parsers.parse("the content locations for {package_id} are requested {count:d} times"))
def locations_requested(run: RunResult, package_id: str, count: int) -> None:
    """How many location requests the client sent for the package (a rejected token costs one more)."""
    sent = run.events("location.request", package=package_id)
    assert len(sent) == count, f"{len(sent)} location requests\n{run.describe()}"


@then(parsers.parse('the client\'s {log} says "{text}"'))
def client_log_says(run: RunResult, log: str, text: str) -> None:
    """A line of that client log (CMTrace) contains the text."""
    assert log in run.logs, f"the run wrote no {log}; it wrote {sorted(run.logs)}"
    assert text in run.logs[log], f"{log} does not say {text!r}"

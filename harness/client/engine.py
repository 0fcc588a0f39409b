"""A task sequence run: from "Install" in Software Center to the task sequence's exit code.

Follows the reference flows of B-24 (on demand, 1910+) and B-25 (download all content first):
policy through the management channel, the internet rules of harness.model.rules, content located
and downloaded over the wire and hash-verified, TSManager's loop (executor.py), and every stage on
the timeline and in the logs. The clean-up at the end follows B-27, B-28 and B-29.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from typing import Any

from harness.client.channel import ChannelError, ManagementChannel, SiteEndpoints
from harness.client.client import CacheError, EmulatedClient
from harness.client.content import ContentContext, ContentResolver, source_chooser
from harness.client.download import DownloadError, RetryPolicy
from harness.client.executor import Executor, is_true
from harness.client.logs import ClientLogs
from harness.client.outcome import Cancelled, RunFailed, RunOutcome, StepFailed
from harness.client.timeline import Timeline
from harness.clock.actor import Actor, ClockCancelled, NoActor, bound
from harness.clock.model_clock import ModelClock
from harness.model.deployment import (
    APTSINTRANETONLY,
    Deployment,
    DeploymentOption,
    LaunchMode,
    Purpose,
    Trigger,
    option_from_remote_client_flags,
)
from harness.model.errors import HResult, hresult_text
from harness.model.rules import internet_refusal, trigger_refusal
from harness.model.versions import SiteVersion
from harness.protocol import policy as pol
from harness.protocol import ts_policy as tsp
from harness.protocol.cmtrace import Severity

# While an IPU runs, smsts.log is in C:\Windows\CCM\Logs\smstslog; it is moved here at the end (B-29).
FINAL_LOG = "Windows/CCM/Logs/smsts.log"


class TaskSequenceRun:
    def __init__(self, run_id: str, client: EmulatedClient, deployment_id: str, launch: LaunchMode,
                 endpoints: SiteEndpoints, clock: ModelClock, trigger: Trigger = Trigger.USER,
                 actor: Actor | NoActor | None = None) -> None:
        """`actor`: the run's membership of a virtual clock, joined when the run is created (so time cannot move
        between Install and the run's first step); the run leaves the clock when it ends."""
        self.run_id = run_id
        self.trigger = trigger
        self.client = client
        self.deployment_id = deployment_id
        self.launch = launch
        self.endpoints = endpoints
        self.clock = clock
        self.actor = actor or NoActor()
        self.timeline = Timeline(clock.scale, clock.seconds if clock.mode == "virtual" else None)
        self.logs = ClientLogs(clock.now)
        self.outcome = RunOutcome()
        self.cancel = threading.Event()
        self.done = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------------

    def run(self) -> None:
        with self.actor, bound(self.actor):
            try:
                self.actor.turn()  # runs started at one instant take their turns in a fixed order
            except ClockCancelled:
                self._finish("cancelled", HResult.E_FAIL, "the run was cancelled by an environment reset")
                self.done.set()
                return
            self._run_to_the_end()

    def _run_to_the_end(self) -> None:
        try:
            self._run()
            self._finish("succeeded", HResult.S_OK, "")
        except RunFailed as failure:
            self._finish(failure.status, failure.hresult, str(failure), failure.step)
        except ChannelError as error:
            self._finish("failed", error.hresult, str(error))
        except Cancelled:
            self._finish("cancelled", HResult.E_FAIL, "the run was cancelled by an environment reset")
        except Exception as error:  # an engine bug must end the run visibly, never hang a scenario
            self._finish("failed", HResult.E_FAIL, f"internal error in the emulated engine: {error!r}")
            raise
        finally:
            self.done.set()

    def _finish(self, status: str, hresult: int, reason: str, step: str | None = None) -> None:
        self.outcome.status, self.outcome.reason, self.outcome.failed_step = status, reason, step
        self.outcome.exit_code = hresult_text(hresult)
        self.timeline.record("run.end", status=status, exit_code=hresult_text(hresult), reason=reason)

    def sleep(self, model_seconds: float) -> None:
        try:
            self.clock.sleep(model_seconds, self.cancel)
        except ClockCancelled:
            raise Cancelled() from None

    def stop(self) -> None:
        """From another thread (an environment reset): the run ends as cancelled at its next wait."""
        self.cancel.set()
        self.actor.cancel()

    def checkpoint(self) -> None:
        if self.cancel.is_set():
            raise Cancelled()

    # -- the run ---------------------------------------------------------------------------------

    def _run(self) -> None:
        self.timeline.record("install.requested", deployment=self.deployment_id, launch_mode=self.launch.label)
        self.logs.write("execmgr.log", f"Request to run task sequence deployment {self.deployment_id} "
                                       f"from {self.launch.label}")
        channel = self.client.channel(self.endpoints, self.logs, self.clock.now, self.timeline)
        self.outcome.on_internet = channel.on_internet
        self.timeline.record("network.detected", location="internet" if channel.on_internet else "intranet")
        version = SiteVersion.parse(channel.site_information().full_version_label)
        self._register(channel)
        policy = self._policy(channel)
        deployment = self._deployment(policy)
        self.outcome.option = deployment.option.value
        self._check_trigger(deployment, policy)
        if channel.on_internet:
            self._check_internet_rules(deployment, version, policy)
        self._set_variables(policy, deployment, channel)
        resolver = ContentResolver(ContentContext(
            client=self.client, channel=channel, timeline=self.timeline, logs=self.logs, scale=self.clock.scale,
            version=version, site_code=self.endpoints.site_code, variables=self.outcome.variables,
            sleep=RetryPolicy(sleep=self.sleep), deployment_flags=policy.remote_client_flags,
            chooser=source_chooser(self.client.name, self.deployment_id, self.client.seed)))
        resolver.local.update(self.client.cached)  # content already in ccmcache (pre-cache) is used as is
        if self.trigger is Trigger.PRECACHE:
            self._precache(policy, resolver)
            return
        if deployment.option is DeploymentOption.DOWNLOAD_ALL:
            self._download_all(policy, resolver)
        self.checkpoint()
        self._execute(policy, deployment, resolver)

    def _register(self, channel: ManagementChannel) -> None:
        """Once per client, before its first policy request; later runs use the SMSID it was given."""
        if not self.client.client_id:
            self.client.register(channel, self.logs, self.clock.now())
            self.timeline.record("client.registered", client_id=self.client.client_id)

    def _policy(self, channel: ManagementChannel) -> tsp.TaskSequencePolicy:
        assignments = channel.policy_assignments(self.client.client_id)
        mine = [a for a in assignments if a.policy_id.startswith(f"{self.deployment_id}-")]
        if not mine:
            raise RunFailed(HResult.ITEM_NOT_FOUND, f"No policy for deployment {self.deployment_id} was found for "
                                                    "this client (0x87D00215 Item not found)")
        body = channel.policy_body(mine[0])
        self.timeline.record("policy.received", deployment=self.deployment_id, flags=mine[0].flags)
        if mine[0].flags & pol.INTRANETONLY:
            self.logs.write("execmgr.log", f"Policy {mine[0].policy_id} is flagged INTRANETONLY")
        return body

    def _deployment(self, policy: tsp.TaskSequencePolicy) -> Deployment:
        return Deployment(deployment_id=policy.advertisement_id, task_sequence_id=policy.package_id,
                          option=option_from_remote_client_flags(policy.remote_client_flags),
                          purpose=Purpose.from_offer_type(policy.offer_type),
                          allow_internet=not policy.advert_flags & APTSINTRANETONLY)

    def _check_trigger(self, deployment: Deployment, policy: tsp.TaskSequencePolicy) -> None:
        """Only Required deployments have a deadline; only pre-download deployments pre-cache (B-42, B-43)."""
        reason = trigger_refusal(replace(deployment, pre_download=policy.pre_download), self.trigger)
        if reason is not None:
            self.logs.write("execmgr.log", reason, severity=Severity.ERROR)
            self.timeline.record("refused", reason=reason)
            raise RunFailed(HResult.E_FAIL, reason, status="refused")

    def _check_internet_rules(self, deployment: Deployment, version: SiteVersion,
                              policy: tsp.TaskSequencePolicy) -> None:
        reason = internet_refusal(deployment, self.launch, version, boot_image=bool(policy.boot_image_id))
        if reason is None:
            return
        self.logs.write("execmgr.log", reason, severity=Severity.ERROR)
        self.logs.write("TSAgent.log", f"Task sequence {policy.package_id} will not run: {reason}",
                        severity=Severity.ERROR)
        self.timeline.record("refused", reason=reason)
        raise RunFailed(HResult.E_FAIL, reason, status="refused")

    def _set_variables(self, policy: tsp.TaskSequencePolicy, deployment: Deployment,
                       channel: ManagementChannel) -> None:
        self.outcome.variables.update(dict(policy.variables))
        self.outcome.variables.update({
            "_SMSTSLaunchMode": self.launch.value,
            "_SMSTSUserStarted": str(self.launch is LaunchMode.SOFTWARE_CENTER
                                     and self.trigger is Trigger.USER).lower(),
            "_SMSTSDownloadOnDemand": str(deployment.option is DeploymentOption.DOWNLOAD_ON_DEMAND).lower(),
            "_SMSTSRunFromDP": str(deployment.option is DeploymentOption.ACCESS_DIRECTLY).lower(),
            "_SMSTSAdvertID": policy.advertisement_id, "_SMSTSPackageID": policy.package_id,
            "_SMSTSPackageName": policy.name, "_SMSTSSiteCode": self.endpoints.site_code,
            "_SMSTSMP": channel.endpoints.cmg_url if channel.on_internet else channel.endpoints.mp_url,
            "_SMSTSInWinPE": "false", "_SMSTSType": "2",
        })

    # -- "Download all content locally before starting task sequence" (client CAS path) ----------

    def _download_all(self, policy: tsp.TaskSequencePolicy, resolver: ContentResolver) -> None:
        self.timeline.record("predownload.start", packages=[p.package_id for p in policy.references])
        for package in policy.references:
            self.checkpoint()
            content = f"{package.package_id}.{package.version}"
            if package.package_id in resolver.local:
                self.logs.write("CAS.log", f"Content {content} is already in the cache")
                continue
            try:
                resolver.fetch_by_client(package)
            except (DownloadError, CacheError) as error:
                self.logs.write("CAS.log", str(error), severity=Severity.ERROR)
                self.timeline.record("predownload.end", result="failed")
                if error.hresult is HResult.CONTENT_NOT_FOUND:
                    raise RunFailed(error.hresult, f"Content {content} is not available from any location the "
                                                   "client may use; the task sequence did not start") from None
                raise RunFailed(error.hresult, f"Download of {content} failed: {error}") from None
        self.timeline.record("predownload.end", result="succeeded")
        self.logs.write("TSAgent.log", f"All content for task sequence {policy.package_id} is available locally")

    # -- "Pre-download content for this task sequence" (pre-cache at the available time) ------

    def _precache(self, policy: tsp.TaskSequencePolicy, resolver: ContentResolver) -> None:
        """Puts what it can into ccmcache; what is missing now is left to the deployment option (B-43)."""
        self.timeline.record("precache.start", packages=[p.package_id for p in policy.references])
        missing = []
        for package in policy.references:
            self.checkpoint()
            if package.package_id in resolver.local:
                continue
            try:
                resolver.fetch_by_client(package, priority="Low")
            except (DownloadError, CacheError) as error:
                self.logs.write("CAS.log", f"Pre-cache of {package.package_id} did not complete: {error}",
                                severity=Severity.WARNING)
                missing.append(package.package_id)
        self.timeline.record("precache.end", result="incomplete" if missing else "complete", missing=missing)

    # -- TSManager -------------------------------------------------------------------------------

    def _execute(self, policy: tsp.TaskSequencePolicy, deployment: Deployment, resolver: ContentResolver) -> None:
        self.logs.smsts("==============================[ TSManager.exe ]==============================")
        for name, value in self.outcome.variables.items():
            self.logs.smsts(f"Set a global environment variable {name}={value}")
        self.timeline.record("ts.start", task_sequence=policy.package_id, name=policy.name)
        executor = Executor(resolver=resolver, timeline=self.timeline, logs=self.logs,
                            variables=self.outcome.variables, packages={p.package_id: p for p in policy.references},
                            option=deployment.option, sleep=self.sleep, checkpoint=self.checkpoint)
        try:
            executor.run(policy.steps)
        except StepFailed as failure:
            self.logs.smsts(f"Task Sequence Execution Failed with error code {failure.hresult:X}",
                            severity=Severity.ERROR)
            self.timeline.record("ts.end", result="failed", exit_code=hresult_text(failure.hresult))
            self._clean_up(resolver)
            raise RunFailed(failure.hresult, str(failure), step=failure.step) from None
        self.logs.smsts(f"Task sequence {policy.package_id} completed 0x00000000")
        self.timeline.record("ts.end", result="succeeded", exit_code=hresult_text(HResult.S_OK))
        self._clean_up(resolver)

    def _clean_up(self, resolver: ContentResolver) -> None:
        """_SMSTaskSequence removed, client-cache content released unless SMSTSPreserveContent, smsts.log moved.

        [INFERENCE] the docs describe the removal after a successful run (B-29); the harness cleans up
        after a failed one too, as TSManager does when it exits in the full OS.
        """
        shutil.rmtree(self.client.ts_cache, ignore_errors=True)
        if not is_true(self.outcome.variables.get("SMSTSPreserveContent")):
            self.client.release_cache()
        self.timeline.record("cache.cleaned", preserved=is_true(self.outcome.variables.get("SMSTSPreserveContent")))
        self.logs.smsts("Moving the task sequence log to C:\\Windows\\CCM\\Logs\\smsts.log")
        final = self.client.root / FINAL_LOG
        final.parent.mkdir(parents=True, exist_ok=True)
        final.write_text(self.logs.text("smsts.log"), encoding="utf-8")

    # -- what the control API shows ----------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run_id, "client": self.client.name, "deployment": self.deployment_id,
                "launch_mode": self.launch.label, "trigger": self.trigger.value, **self.outcome.__dict__,
                "scale": self.clock.scale.factor, "timeline": self.timeline.events(), "logs": self.logs.names()}

"""The task sequence engine: from "Install" in Software Center to the task sequence's exit code.

Follows the reference flows of spec §7.1 (on demand, 1910+) and §7.2 (download all content first):
policy through the management channel, the internet rules of harness.model.rules, content located
and downloaded over the wire, hash-verified, and every stage written to the timeline and the logs.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.client.channel import ChannelError, ManagementChannel, SiteEndpoints
from harness.client.client import EmulatedClient
from harness.client.download import ContentDownloader, DownloadError
from harness.client.logs import ClientLogs
from harness.client.timeline import Timeline
from harness.model.deployment import (
    APTSINTRANETONLY,
    Deployment,
    DeploymentOption,
    LaunchMode,
    Purpose,
    option_from_remote_client_flags,
)
from harness.model.errors import HResult, hresult_text
from harness.model.rules import internet_refusal, ts_engine_uses_cloud_sources
from harness.model.units import ModelClock
from harness.model.versions import SiteVersion
from harness.protocol import policy as pol
from harness.protocol.cmtrace import Severity
from harness.protocol.location import ContentLocationRequest


class Cancelled(Exception):
    """The environment was reset while this run was going on."""


class RunFailed(Exception):
    def __init__(self, hresult: HResult, message: str, *, status: str = "failed", step: str | None = None) -> None:
        super().__init__(message)
        self.hresult = hresult
        self.status = status
        self.step = step


@dataclass
class RunOutcome:
    status: str = "running"  # running | succeeded | failed | refused
    exit_code: str | None = None
    reason: str = ""
    failed_step: str | None = None
    on_internet: bool | None = None
    option: str | None = None
    variables: dict[str, str] = field(default_factory=dict)


class TaskSequenceRun:
    def __init__(self, run_id: str, client: EmulatedClient, deployment_id: str, launch: LaunchMode,
                 endpoints: SiteEndpoints, clock: ModelClock) -> None:
        self.run_id = run_id
        self.client = client
        self.deployment_id = deployment_id
        self.launch = launch
        self.endpoints = endpoints
        self.clock = clock
        self.timeline = Timeline(clock.scale)
        self.logs = ClientLogs(clock.now)
        self.outcome = RunOutcome()
        self.cancel = threading.Event()
        self.done = threading.Event()
        self._local: dict[str, Path] = {}  # package -> where its verified content is

    # -- lifecycle -------------------------------------------------------------------------------

    def run(self) -> None:
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

    def _finish(self, status: str, hresult: HResult, reason: str, step: str | None = None) -> None:
        self.outcome.status, self.outcome.reason, self.outcome.failed_step = status, reason, step
        self.outcome.exit_code = hresult_text(hresult)
        self.timeline.record("run.end", status=status, exit_code=hresult_text(hresult), reason=reason)

    def _sleep(self, model_seconds: float) -> None:
        if self.cancel.wait(self.clock.scale.real_seconds(model_seconds)):
            raise Cancelled()

    def _checkpoint(self) -> None:
        if self.cancel.is_set():
            raise Cancelled()

    # -- the run ---------------------------------------------------------------------------------

    def _run(self) -> None:
        self.timeline.record("install.requested", deployment=self.deployment_id, launch_mode=self.launch.label)
        self.logs.write("execmgr.log", f"Request to run task sequence deployment {self.deployment_id} "
                                       f"from {self.launch.label}")
        channel = self.client.channel(self.endpoints, self.logs, self.clock.now)
        self.outcome.on_internet = channel.on_internet
        self.timeline.record("network.detected", location="internet" if channel.on_internet else "intranet")
        version = SiteVersion.parse(channel.site_information().full_version_label)
        policy = self._policy(channel)
        deployment = self._deployment(policy)
        self.outcome.option = deployment.option.value
        if channel.on_internet:
            self._check_internet_rules(deployment, version, policy)
        self._set_variables(policy, deployment, channel)
        if deployment.option is DeploymentOption.DOWNLOAD_ALL:
            self._download_all(policy, channel)
        self._checkpoint()
        self._execute(policy, deployment, channel, version)

    def _policy(self, channel: ManagementChannel) -> pol.TaskSequencePolicy:
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

    def _deployment(self, policy: pol.TaskSequencePolicy) -> Deployment:
        return Deployment(deployment_id=policy.advertisement_id, task_sequence_id=policy.package_id,
                          option=option_from_remote_client_flags(policy.remote_client_flags),
                          purpose=Purpose.from_offer_type(policy.offer_type),
                          allow_internet=not policy.advert_flags & APTSINTRANETONLY)

    def _check_internet_rules(self, deployment: Deployment, version: SiteVersion,
                              policy: pol.TaskSequencePolicy) -> None:
        reason = internet_refusal(deployment, self.launch, version)
        if reason is None:
            return
        self.logs.write("execmgr.log", reason, severity=Severity.ERROR)
        self.logs.write("TSAgent.log", f"Task sequence {policy.package_id} will not run: {reason}",
                        severity=Severity.ERROR)
        self.timeline.record("refused", reason=reason)
        raise RunFailed(HResult.E_FAIL, reason, status="refused")

    def _set_variables(self, policy: pol.TaskSequencePolicy, deployment: Deployment,
                       channel: ManagementChannel) -> None:
        self.outcome.variables.update({
            "_SMSTSLaunchMode": self.launch.value,
            "_SMSTSUserStarted": str(self.launch is LaunchMode.SOFTWARE_CENTER).lower(),
            "_SMSTSDownloadOnDemand": str(deployment.option is DeploymentOption.DOWNLOAD_ON_DEMAND).lower(),
            "_SMSTSAdvertID": policy.advertisement_id, "_SMSTSPackageID": policy.package_id,
            "_SMSTSPackageName": policy.name, "_SMSTSSiteCode": self.endpoints.site_code,
            "_SMSTSMP": channel.endpoints.cmg_url if channel.on_internet else channel.endpoints.mp_url,
            "_SMSTSInWinPE": "false", "_SMSTSType": "2",
        })

    # -- "Download all content locally before starting task sequence" (client CAS path) ----------

    def _download_all(self, policy: pol.TaskSequencePolicy, channel: ManagementChannel) -> None:
        self.timeline.record("predownload.start", packages=[p.package_id for p in policy.references])
        downloader = ContentDownloader(self.client.http, self.timeline, self.logs, self.clock.scale,
                                       log="DataTransferService.log", component="DataTransferService")
        for index, package in enumerate(policy.references, start=1):
            self._checkpoint()
            content = f"{package.package_id}.{package.version}"
            self.logs.write("CAS.log", f"Requesting locations synchronously for content {content} with priority "
                                       "Foreground")
            request = self._location_request(package, channel, engine=False)
            reply = self._locate(channel, package, request)
            if not reply.records:
                self.logs.write("CAS.log", f"Content is not available for {content}", severity=Severity.ERROR)
                self.timeline.record("predownload.end", result="failed")
                raise RunFailed(HResult.CONTENT_NOT_FOUND, f"Content {content} is not available from any location "
                                                           "the client may use; the task sequence did not start")
            destination = self.client.client_cache / str(index)
            try:
                downloader.fetch(package.package_id, package.version, reply, destination)
            except DownloadError as error:
                self.timeline.record("predownload.end", result="failed")
                raise RunFailed(error.hresult, f"Download of {content} failed: {error}") from None
            self.logs.write("CAS.log", f"Hash verification succeeded for content {content} downloaded under "
                                       "context System")
            self._local[package.package_id] = destination
        self.timeline.record("predownload.end", result="succeeded")
        self.logs.write("TSAgent.log", f"All content for task sequence {policy.package_id} is available locally")

    # -- TSManager -------------------------------------------------------------------------------

    def _execute(self, policy: pol.TaskSequencePolicy, deployment: Deployment, channel: ManagementChannel,
                 version: SiteVersion) -> None:
        self.logs.smsts("==============================[ TSManager.exe ]==============================")
        for name, value in self.outcome.variables.items():
            self.logs.smsts(f"Set a global environment variable {name}={value}")
        self.timeline.record("ts.start", task_sequence=policy.package_id, name=policy.name)
        packages = {p.package_id: p for p in policy.references}
        for pointer, step in enumerate(policy.steps):
            self._run_step(pointer, step, packages, deployment, channel, version)
        self.logs.smsts(f"Task sequence {policy.package_id} completed 0x00000000")
        self.timeline.record("ts.end", result="succeeded", exit_code=hresult_text(HResult.S_OK))
        shutil.rmtree(self.client.ts_cache, ignore_errors=True)

    def _run_step(self, pointer: int, step: pol.PolicyStep, packages: dict[str, pol.PolicyPackage],
                  deployment: Deployment, channel: ManagementChannel, version: SiteVersion) -> None:
        self._checkpoint()
        self.logs.smsts(f"Start executing an instruction. Instruction name: {step.name}. "
                        f"Instruction pointer: {pointer}")
        self.timeline.record("step.start", step=step.name, action=step.action, package=step.package_id)
        try:
            if step.package_id is not None:
                self._resolve(packages[step.package_id], channel, version)
            self._sleep(step.duration_s)
        except RunFailed as failure:
            self._step_failed(step, failure)
            return
        self._step_ended(step, HResult.S_OK)

    def _step_failed(self, step: pol.PolicyStep, failure: RunFailed) -> None:
        self.logs.smsts(f"Failed to run the action: {step.name}. Error {hresult_text(failure.hresult)}",
                        severity=Severity.ERROR)
        self._step_ended(step, failure.hresult)
        if step.continue_on_error:
            self.logs.smsts(f"Step {step.name} failed but Continue on error is set", severity=Severity.WARNING)
            return
        self.logs.smsts(f"Task Sequence Execution Failed with error code {failure.hresult.value:X}",
                        severity=Severity.ERROR)
        self.timeline.record("ts.end", result="failed", exit_code=hresult_text(failure.hresult))
        raise RunFailed(failure.hresult, str(failure), step=step.name)

    def _step_ended(self, step: pol.PolicyStep, hresult: HResult) -> None:
        result = "succeeded" if hresult is HResult.S_OK else "failed"
        signed = hresult.value - 2**32 if hresult.value >= 2**31 else hresult.value  # the variable is a signed int
        self.outcome.variables["_SMSTSLastActionRetCode"] = str(signed)
        self.outcome.variables["_SMSTSLastActionSucceeded"] = str(hresult is HResult.S_OK).lower()
        self.timeline.record("step.end", step=step.name, result=result, exit_code=hresult_text(hresult))

    # -- content for one step --------------------------------------------------------------------

    def _resolve(self, package: pol.PolicyPackage, channel: ManagementChannel, version: SiteVersion) -> None:
        pid = package.package_id
        self.logs.smsts(f"Resolving content for SMS Package {pid}", component="TSManager")
        self.logs.smsts(f"Resolving local content for {pid}:{package.version}")
        if pid in self._local:
            self.outcome.variables[f"_SMSTS{pid}"] = self.client.windows_path(self._local[pid])
            return
        for line in channel.describe():
            self.logs.smsts(line)
        request = self._location_request(package, channel, engine=True, version=version)
        reply = self._locate(channel, package, request)
        self.logs.smsts(f"Processing {len(reply.records)} locations.")
        if not reply.records:
            self.logs.smsts("No static content server.", severity=Severity.WARNING)
            self.logs.smsts(f"Content location request for {pid}:{package.version} failed, hr=0x80040102",
                            severity=Severity.ERROR)
            raise RunFailed(HResult.NO_CONTENT_LOCATION,
                            f"Content location request for {pid}:{package.version} failed, hr=0x80040102")
        destination = self.client.ts_cache / "Packages" / pid
        downloader = ContentDownloader(self.client.http, self.timeline, self.logs, self.clock.scale)
        try:
            done = downloader.fetch(pid, package.version, reply, destination)
        except DownloadError as error:
            raise RunFailed(error.hresult, str(error)) from None
        finally:
            self.outcome.variables["_SMSTSLastContentDownloadLocation"] = reply.records[0].url.split("?")[0]
        self._local[pid] = done.path
        self.outcome.variables[f"_SMSTS{pid}"] = self.client.windows_path(done.path)

    def _location_request(self, package: pol.PolicyPackage, channel: ManagementChannel, *, engine: bool,
                          version: SiteVersion | None = None) -> ContentLocationRequest:
        use_azure = self.client.settings.allow_cloud_dp
        if engine and version is not None and not ts_engine_uses_cloud_sources(version):
            use_azure = False  # the pre-1910 engine cannot use cloud sources (rules.py)
            self.logs.smsts(f"Site version {version}: the task sequence engine does not request cloud content "
                            "locations", severity=Severity.WARNING)
        return ContentLocationRequest(package_id=package.package_id, package_version=package.version,
                                      site_code=self.endpoints.site_code, use_azure=use_azure,
                                      use_internet_dp=channel.on_internet)

    def _locate(self, channel: ManagementChannel, package: pol.PolicyPackage,
                request: ContentLocationRequest) -> Any:
        self.timeline.record("location.request", package=package.package_id, use_azure=request.use_azure,
                             use_internet_dp=request.use_internet_dp)
        reply = channel.locate(request)
        self.timeline.record("location.reply", package=package.package_id, site_locality=reply.site_locality,
                             locations=[r.url.split("?")[0] for r in reply.records])
        return reply

    # -- what the control API shows ----------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run_id, "client": self.client.name, "deployment": self.deployment_id,
                "launch_mode": self.launch.label, **self.outcome.__dict__, "scale": self.clock.scale.factor,
                "timeline": self.timeline.events(), "logs": self.logs.names()}

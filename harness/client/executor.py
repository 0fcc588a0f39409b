"""TSManager's loop: groups, conditions, Continue on error, and what each step action does.

Semantics (B-39, B-40): a failing step fails its group, and so on up, unless the step or a
group on the way has Continue on error; a group or step whose condition is false is skipped. The
IPU template's "Run Actions on Failure" group is such a group: its condition is
_SMSTSLastActionSucceeded = false.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PureWindowsPath

from harness.client import step_programs
from harness.client.client import CacheError
from harness.client.content import ContentResolver
from harness.client.logs import ClientLogs
from harness.client.outcome import StepFailed
from harness.client.timeline import Timeline
from harness.model.deployment import DeploymentOption
from harness.model.errors import HResult, hresult_text
from harness.model.task_sequence import Destination, StepAction
from harness.protocol import ts_policy as tsp
from harness.protocol.cmtrace import Severity

Node = tsp.PolicyStep | tsp.PolicyGroup
TRUE_WORDS = ("true", "1", "yes")


class Executor:
    def __init__(self, *, resolver: ContentResolver, timeline: Timeline, logs: ClientLogs,
                 variables: dict[str, str], packages: dict[str, tsp.PolicyPackage], option: DeploymentOption,
                 sleep: Callable[[float], None], checkpoint: Callable[[], None]) -> None:
        self.resolver = resolver
        self.timeline = timeline
        self.logs = logs
        self.variables = variables
        self.packages = packages
        self.option = option
        self.sleep = sleep
        self.checkpoint = checkpoint
        self.pointer = 0

    # -- the tree --------------------------------------------------------------------------------

    def run(self, nodes: tuple[Node, ...]) -> None:
        for node in nodes:
            self.checkpoint()
            kind = "group" if isinstance(node, tsp.PolicyGroup) else "action"
            if node.condition is not None and not _holds(node.condition, self.variables):
                self.logs.smsts(f"The {kind} ({node.name}) is skipped because the condition is evaluated to be "
                                f"false ({node.condition.variable} {node.condition.operator} {node.condition.value})")
                self.timeline.record(f"{'group' if kind == 'group' else 'step'}.skipped", name=node.name)
                continue
            try:
                self._group(node) if isinstance(node, tsp.PolicyGroup) else self._step(node)
            except StepFailed as failure:
                if not node.continue_on_error:
                    raise
                self.logs.smsts(f"Ignoring the failure of the {kind} ({node.name}): Continue on error is set "
                                f"({hresult_text(failure.hresult)})", severity=Severity.WARNING)

    def _group(self, group: tsp.PolicyGroup) -> None:
        self.timeline.record("group.start", group=group.name)
        try:
            self.run(group.children)
        except StepFailed:
            self.logs.smsts(f"The execution of the group ({group.name}) has failed and the execution has been "
                            "aborted. An action failed.", severity=Severity.ERROR)
            self.timeline.record("group.end", group=group.name, result="failed")
            raise
        self.timeline.record("group.end", group=group.name, result="succeeded")

    # -- one step ----------------------------------------------------------------------------------

    def _step(self, step: tsp.PolicyStep) -> None:
        self.logs.smsts(f"Start executing an instruction. Instruction name: {step.name}. "
                        f"Instruction pointer: {self.pointer}")
        self.pointer += 1
        self.timeline.record("step.start", step=step.name, action=step.action, package=step.package_id)
        try:
            with step_programs.running(self.logs, step):
                self._act(step)
        except StepFailed as failure:
            self._ended(step, failure.hresult)
            self.logs.smsts(f"Failed to run the action: {step.name}. Error {hresult_text(failure.hresult)}",
                            severity=Severity.ERROR)
            raise
        self._ended(step, 0)

    def _act(self, step: tsp.PolicyStep) -> None:
        if step.action == StepAction.DOWNLOAD_PACKAGE_CONTENT.value:
            self._download_package_content(step)
        elif step.action == StepAction.SET_VARIABLE.value:
            self._set_variable(step)
        elif step.package_id is not None:
            self._with_content(step)
            return
        self._work(step)

    def _with_content(self, step: tsp.PolicyStep) -> None:
        package = self.packages[str(step.package_id)]
        if self.option is DeploymentOption.ACCESS_DIRECTLY:
            self.resolver.access_directly(package, step.name)
            self._work(step)
            return
        if step.action == StepAction.INSTALL_APPLICATION.value:
            self.resolver.resolve_by_client(package, step.name)
            self._work(step)
            return
        had_it = package.package_id in self.resolver.local
        self.resolver.resolve_for_step(package, self.resolver.ts_package_folder(package.package_id), step.name)
        self._work(step)
        if not had_it and not is_true(self.variables.get("SMSTSPersistContent")):
            self.resolver.forget(package.package_id)

    def _work(self, step: tsp.PolicyStep) -> None:
        """The step's own program: it runs for its model duration and returns its exit code."""
        # After any on-demand content has arrived: "step.start" less this is what the step waited for content.
        self.timeline.record("step.action", step=step.name)
        self.sleep(step.duration_s)
        if step.action == StepAction.UPGRADE_OS.value:
            self.variables["_SMSTSOSUpgradeActionReturnCode"] = str(step.exit_code)
        if step.exit_code:
            raise StepFailed(step.exit_code, f"The action ({step.name}) returned {hresult_text(step.exit_code)}",
                             step.name)

    def _ended(self, step: tsp.PolicyStep, code: int) -> None:
        signed = code - 2**32 if code >= 2**31 else code  # the variable holds a signed integer
        self.variables["_SMSTSLastActionRetCode"] = str(signed)
        self.variables["_SMSTSLastActionSucceeded"] = "true" if code == 0 else "false"
        self.timeline.record("step.end", step=step.name, result="succeeded" if code == 0 else "failed",
                             exit_code=hresult_text(code))

    def _set_variable(self, step: tsp.PolicyStep) -> None:
        name, value = step.option("VariableName"), step.option("VariableValue")
        if not name:
            raise StepFailed(HResult.E_FAIL, f"Set Task Sequence Variable step {step.name!r} names no variable",
                             step.name)
        self.variables[name] = value
        self.logs.smsts(f"Set a task sequence variable {name}")

    # -- Download Package Content (OSDDownloadContent.exe, B-37, B-38) ----------------------------

    def _download_package_content(self, step: tsp.PolicyStep) -> None:
        package_ids = [p for p in step.option("OSDDownloadDownloadPackages").split(",") if p]
        destination = Destination(step.option("OSDDownloadDestinationLocationType", "TSCache"))
        variable = step.option("OSDDownloadDestinationVariable")
        keep_going = step.option("OSDDownloadContinueDownloadOnError", "1") == "1"
        self._log_download_settings(step, destination, keep_going)
        for index, package_id in enumerate(package_ids, start=1):
            try:
                path = self._download_one(self.packages[package_id], destination, step)
            except StepFailed as failure:
                if not keep_going:
                    raise
                self.logs.smsts(f"Failed to download package {package_id} ({hresult_text(failure.hresult)}); "
                                "continuing with the other packages", component="OSDDownloadContent",
                                severity=Severity.WARNING)
                continue
            if variable:
                self.variables[f"{variable}{index:02d}"] = self.resolver.ctx.client.windows_path(path)
                self.logs.smsts(f"Set a task sequence variable {variable}{index:02d}", component="OSDDownloadContent")

    def _download_one(self, package: tsp.PolicyPackage, destination: Destination, step: tsp.PolicyStep) -> Path:
        pid = package.package_id
        self.logs.smsts(f"Getting package content: {pid}, version: {package.version}", component="OSDDownloadContent")
        if destination is Destination.CLIENT_CACHE:
            client = self.resolver.ctx.client
            try:
                client.reserve_cache(pid, package.size)
            except CacheError as error:
                raise StepFailed(error.hresult, str(error), step.name) from None
            client.cached[pid] = self.resolver.resolve_for_step(package, self.resolver.client_cache_folder(), step.name)
            return client.cached[pid]
        staged = self.resolver.resolve_for_step(package, self.resolver.ts_package_folder(pid), step.name)
        if destination is Destination.TS_CACHE:
            return staged
        # Custom path: downloaded to the TS working directory, then moved; the package ID is appended.
        target = self.resolver.ctx.client.local_path(step.option("OSDDownloadDestinationPath")) / pid
        return self.resolver.move(pid, staged, target)

    def _log_download_settings(self, step: tsp.PolicyStep, destination: Destination, keep_going: bool) -> None:
        lines = [r"Running module version 5.0.9040.1000 from location 'C:\WINDOWS\CCM\OSDDownloadContent.exe'",
                 f"OSDDownloadDownloadPackages = {step.option('OSDDownloadDownloadPackages')}",
                 f"OSDDownloadDestinationLocationType = {destination.value}",
                 f"OSDDownloadContinueDownloadOnError = {int(keep_going)}"]
        if destination is Destination.CUSTOM:
            path = PureWindowsPath(step.option("OSDDownloadDestinationPath"))
            lines.append(f"Packages will be downloaded to custom download location: '{path}'")
        for line in lines:
            self.logs.smsts(line, component="OSDDownloadContent")


def _holds(condition: tsp.PolicyCondition, variables: dict[str, str]) -> bool:
    actual = variables.get(condition.variable, "").lower()
    expected = condition.value.lower()
    return actual != expected if condition.operator.lower() == "notequals" else actual == expected


def is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in TRUE_WORDS

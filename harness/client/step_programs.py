"""The programs TSManager starts for steps, each a process of its own that writes to smsts.log under its own
component and thread: OSDUpgradeOS.exe (component OSDUpgradeWindows), smsswd.exe (InstallSoftware),
OSDDownloadContent.exe, smsappinstall.exe (InstallApplication). A step's program resolves and downloads the step's
content itself, so those lines are the program's.

Sources: TSManager's "Executing command line: smsappinstall.exe …" and InstallApplication's thread, KB 18408
(https://support.microsoft.com/help/18408); OSDUpgradeOS.exe's `Command line: "OSDUpgradeOS.exe"` as component
OSDUpgradeWindows, https://pastebin.com/17ZjeJUQ; InstallSoftware downloading a Run Command Line package,
[QF2007] in log_sources.py; "Process completed with exit code …" (CommandLine.cpp:1136),
https://learn.microsoft.com/en-us/answers/questions/1007260/. [INFERENCE] smsswd.exe's command line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from harness.client import log_sources as src
from harness.client.logs import TS_MANAGER, ClientLogs
from harness.client.outcome import StepFailed
from harness.model.client_logs import PROGRAMS
from harness.protocol import ts_policy as tsp


@contextmanager
def running(logs: ClientLogs, step: tsp.PolicyStep) -> Iterator[None]:
    """The step's program, if it has one, runs for the duration: TSManager starts it and logs its exit code; the
    other steps run inside TSManager."""
    program = PROGRAMS.get(step.action)
    if program is None:
        yield
        return
    logs.smsts(f"Executing command line: {program.command.format(package=step.package_id or '')}".rstrip(),
               component=TS_MANAGER, file=src.EXECUTING)
    code = 0
    try:
        with logs.process(program.component):
            if program.first_line is not None:
                logs.smsts(program.first_line)
            yield
    except StepFailed as failure:
        code = failure.hresult
        raise
    finally:
        logs.smsts(f"Process completed with exit code {code & 0xFFFFFFFF}", component=TS_MANAGER,
                   file=src.PROCESS_COMPLETED)

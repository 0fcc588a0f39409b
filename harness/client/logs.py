"""The client's log files, in CMTrace format, with the components an administrator expects (spec §3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from harness.protocol.cmtrace import CMTraceWriter, Severity

# log file -> default component
CLIENT_LOGS = {
    "smsts.log": "TSManager",
    "execmgr.log": "execmgr",
    "TSAgent.log": "TSAgent",
    "LocationServices.log": "LocationServices",
    "CAS.log": "ContentAccess",
    "ContentTransferManager.log": "ContentTransferManager",
    "DataTransferService.log": "DataTransferService",
    "ClientLocation.log": "ClientLocation",
    "CcmMessaging.log": "CcmMessaging",
    "ClientIDManagerStartup.log": "ClientIDManagerStartup",  # registration (spec §3.2 [S23])
}


class ClientLogs:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._writers = {name: CMTraceWriter(component, clock) for name, component in CLIENT_LOGS.items()}

    def write(self, log: str, message: str, *, component: str | None = None,
              severity: Severity = Severity.INFO, thread: int = 0, file: str = "") -> None:
        self._writers[log].write(message, component=component, severity=severity, thread=thread, file=file)

    def smsts(self, message: str, *, component: str = "TSManager", severity: Severity = Severity.INFO,
              file: str = "") -> None:
        self.write("smsts.log", message, component=component, severity=severity, thread=4242, file=file)

    def text(self, log: str) -> str:
        return self._writers[log].text()

    def names(self) -> list[str]:
        return [name for name, writer in self._writers.items() if writer.text()]

"""ContentTransferManager.log for one download on the client's own path (download all, pre-cache, Install
Application): CAS submits a CTM job, CTM queues a location request, persists the locations and hands the download
to a DTS job, which starts a BITS job (B-32; https://patchmypc.com/learning-hub/
configuration-manager-content-troubleshooting). Job GUIDs are new for each job and the same in a repeated run
(`ClientLogs.guid`).
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.client.logs import ClientLogs
from harness.protocol.cmtrace import Severity
from harness.protocol.location import LocationRecord

CTM = "ContentTransferManager.log"


class CtmJob:
    def __init__(self, logs: ClientLogs, client: str, content: str) -> None:
        self.logs = logs
        self.content = content
        self.job = logs.guid("ctm-job", client, content)
        self.dts = logs.guid("dts-job", client, content)
        self._client = client

    def submitted(self) -> None:
        request = self.logs.guid("location-request", self._client, self.content)
        self.logs.write("CAS.log", f"Submitted CTM job {self.job} to download Content {self.content} under context "
                                   "System")
        self.logs.write(CTM, f"Queued location request '{request}' for CTM job '{self.job}'.")
        self.logs.write(CTM, f"CCTMJob::EvaluateState(JobID={self.job}, State=RequestedLocations)")

    def persisted(self, records: Sequence[LocationRecord]) -> None:
        if not records:
            self.logs.write(CTM, f"Received empty location update for CTM Job {self.job}", severity=Severity.WARNING)
            return
        # [INFERENCE] several locations one per line; the sources show one.
        listed = "\n".join(f"        ({r.locality}) {r.url.split('?')[0]}" for r in records)
        self.logs.write(CTM, f"Persisted locations for CTM job {self.job}:\n{listed}")

    def started(self, url: str) -> None:
        bits = self.logs.guid("bits-job", self._client, self.content)
        self.logs.write(CTM, f"CTM job {self.job} (corresponding DTS job {self.dts}) started download from "
                             f"'{url.split('?')[0]}' for full content download.")
        self.logs.write("DataTransferService.log", f"Starting BITS job '{bits}' for DTS job '{self.dts}' under user "
                                                   "'S-1-5-18'.")

    def completed(self) -> None:
        # [INFERENCE] the wording of a job's end.
        self.logs.write(CTM, f"CTM job {self.job} successfully processed download completion.")

    def failed(self, hresult: int) -> None:
        # [INFERENCE] the wording.
        self.logs.write(CTM, f"CTM job {self.job} failed to download content {self.content}, error 0x{hresult:08X}",
                        severity=Severity.ERROR)

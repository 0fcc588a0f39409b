"""The task sequence engine's lines in smsts.log around a download (harness/client/engine_log.py): an HTTP error
status is reported with its 0x8019xxxx code (docs/error-codes.md), a step's program logs under its own component and
thread, and every line names its source."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from harness.client.download import ContentDownloader, DownloadError, RetryPolicy
from harness.client.logs import ClientLogs
from harness.client.timeline import Timeline
from harness.model.units import Scale
from harness.protocol.cmtrace import LogLine, Severity, parse_log
from harness.protocol.location import ContentLocationReply, LocationRecord
from harness.protocol.manifest import ContentManifest, ManifestFile, build_manifest

PID = "PS100011"
CMG = "https://cmg.contoso.example"
BLOB = f"https://contosocmgcontent.blob.core.example/content/{PID}/install.esd?sig=x"


def smsts(logs: ClientLogs) -> list[LogLine]:
    return parse_log(logs.text("smsts.log"))


def cloud_reply() -> ContentLocationReply:
    record = LocationRecord(url=f"{CMG}/downloadrestservice.svc/getcontentxmlsecure?pid={PID}",
                            server_remote_name="CMG.CONTOSO.EXAMPLE", locality="INTERNET", dp_type="CLOUD")
    return ContentLocationReply(site_code="PS1", site_locality="LOCAL", records=(record,), access_token="token",
                                hash_sha256=hashlib.sha256(b"x").hexdigest().upper())


@respx.mock
def test_a_404_from_storage_is_logged_with_its_bits_code(respx_mock: respx.MockRouter, tmp_path: Path) -> None:
    files = (ManifestFile("install.esd", 1, BLOB),)
    respx_mock.get(url__startswith=CMG).mock(return_value=httpx.Response(200, text=build_manifest(
        ContentManifest(PID, 1, hashlib.sha256(b"x").hexdigest(), files))))
    respx_mock.get(url__startswith=BLOB.split("?")[0]).mock(return_value=httpx.Response(404, text="BlobNotFound"))
    logs = ClientLogs(lambda: datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
    with httpx.Client() as http, logs.process("OSDUpgradeWindows"), pytest.raises(DownloadError) as failed:
        ContentDownloader(http, Timeline(Scale(1000)), logs, Scale(1000)).fetch(PID, 1, cloud_reply(), tmp_path / PID,
                                                                             RetryPolicy())
    assert failed.value.hresult == 0x80190194
    errors = [(line.message, line.file) for line in smsts(logs) if line.severity is Severity.ERROR]
    assert errors[:2] == [("SendResourceRequest() failed. 80190194", "downloadcontent.cpp:1090"),
                          ("Download() failed. 80190194", "downloadcontent.cpp:1175")]
    assert "Http response: 404 - Not Found" in [line.message for line in smsts(logs)]


def test_a_step_program_logs_under_its_own_component_and_thread() -> None:
    logs = ClientLogs(lambda: datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
    logs.smsts("before")
    for _ in range(2):
        with logs.process("InstallSoftware"):
            logs.smsts("inside")
    logs.smsts("after")
    lines = [(line.message, line.component, line.thread) for line in smsts(logs)]
    assert lines == [("before", "TSManager", 2176), ("inside", "InstallSoftware", 2776),
                     ("inside", "InstallSoftware", 2780), ("after", "TSManager", 2176)]
    assert all(line.file for line in smsts(logs))


def test_job_guids_are_new_for_each_job_and_repeat_with_the_run() -> None:
    def guids() -> list[str]:
        logs = ClientLogs(lambda: datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
        return [logs.guid("ctm-job", "CLIENT01", "PS100011.1") for _ in range(2)]

    first = guids()
    assert first[0] != first[1] and guids() == first

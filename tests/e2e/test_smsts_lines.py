"""A real on-demand upgrade's smsts.log, the text the scenario reports attach, read with a CMTrace parser of its own
(not harness.protocol.cmtrace): every line names its source file and thread as the product's do, each step's
program logs under its own component, and the lines around a location request are the task sequence engine's
transport lines (B-54). The download-all path writes ContentTransferManager.log.

Both runs go through the CMG; the client holds a site-issued token, so the engine converts the MutualAuth URL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from harness.drivers.agent import AgentDriver
from harness.drivers.run import RunResult
from harness.drivers.site import SiteDriver
from harness.environments.local import LocalEnvironment

RUN_TIMEOUT_S = 120.0
ON_DEMAND = "Download content locally when needed by the running task sequence"
DOWNLOAD_ALL = "Download all content locally before starting task sequence"
PACKAGES = [("PS100011", "Windows 11 upgrade media", "OS upgrade package", "3.2 GB"),
            ("PS100012", "Surface drivers", "Driver package", "600 MB")]
STEPS = [{"name": "Check Readiness", "action": "Check Readiness", "duration": "2 minutes"},
         {"name": "Upgrade Operating System", "action": "Upgrade Operating System", "package": "PS100011",
          "duration": "40 minutes"},
         {"name": "Apply drivers", "action": "Run Command Line", "package": "PS100012", "duration": "5 minutes"}]

# The CMTrace line, as CMTrace and the community's parsers read it.
ENTRY = re.compile(r'<!\[LOG\[(?P<message>.*?)\]LOG\]!><time="(?P<time>\d\d:\d\d:\d\d\.\d{3}[+-]\d+)" '
                   r'date="(?P<date>\d\d-\d\d-\d{4})" component="(?P<component>[^"]*)" context="" '
                   r'type="(?P<type>[0-3])" thread="(?P<thread>\d+)" file="(?P<file>[^"]*)">', re.DOTALL)
SOURCE = re.compile(r"[A-Za-z_]\w*\.(?:cpp|cxx|h):\d+")


@dataclass(frozen=True)
class Entry:
    message: str
    component: str
    thread: int
    file: str


def entries(text: str) -> list[Entry]:
    """Every entry, and nothing else in the text but the newlines between them."""
    found = [Entry(m["message"], m["component"], int(m["thread"]), m["file"]) for m in ENTRY.finditer(text)]
    assert ENTRY.sub("", text).strip() == "", "text outside CMTrace entries"
    return found


@pytest.fixture(scope="module")
def environment() -> Iterator[LocalEnvironment]:
    """On the virtual clock, as scenarios run: a run's log times are model times, the same every time."""
    with LocalEnvironment(clock_mode="virtual") as env:
        yield env


def run(environment: LocalEnvironment, option: str) -> RunResult:
    """A scenario's run: set up while the scenario holds model time still, then Install and wait."""
    environment.reset()
    endpoints = environment.endpoints
    with environment.model_clock.join("scenario") as scenario:
        site = SiteDriver(environment.http, endpoints["mp"].control_base)
        agent = AgentDriver(environment.http, endpoints["client"].control_base, clock=scenario)
        site.set_serve_content("cmg", True)
        for package_id, name, kind, size in PACKAGES:
            site.define_package(package_id, name, size, kind=kind)
            site.distribute(package_id, "cmg")
        site.define_task_sequence("PS100010", "Upgrade to Windows 11", STEPS)
        site.set_version(2107)
        site.deploy("PS120001", "PS100010", option=option)
        agent.create_client("CLIENT01", network="internet", site_token=site.registration_token("CLIENT01"))
        result = agent.wait("CLIENT01", agent.install("CLIENT01", "PS120001"), RUN_TIMEOUT_S)
    assert result.status == "succeeded", result.reason
    return result


def test_every_line_names_its_source_file_and_thread(environment: LocalEnvironment) -> None:
    logs = run(environment, ON_DEMAND).logs
    for name, text in logs.items():
        for entry in entries(text):
            assert SOURCE.fullmatch(entry.file), f"{name}: file={entry.file!r} on {entry.message[:80]!r}"
            assert entry.thread > 0, f"{name}: thread 0 on {entry.message[:80]!r}"


def test_each_step_program_logs_under_its_own_component_and_thread(environment: LocalEnvironment) -> None:
    smsts = entries(run(environment, ON_DEMAND).logs["smsts.log"])
    threads: dict[str, set[int]] = {}
    for entry in smsts:
        threads.setdefault(entry.component, set()).add(entry.thread)
    assert {"TSManager", "OSDUpgradeWindows", "InstallSoftware"} <= set(threads), sorted(threads)
    assert len(threads["TSManager"]) == 1, threads  # one process for the whole task sequence
    owners = [(thread, component) for component, ids in threads.items() for thread in ids]
    assert len(owners) == len({thread for thread, _ in owners}), f"a thread logs for two components: {threads}"
    upgrade = [e.message for e in smsts if e.component == "OSDUpgradeWindows"]
    assert "Resolving content for SMS Package PS100011" in upgrade
    drivers = [e.message for e in smsts if e.component == "InstallSoftware"]
    assert "Resolving content for SMS Package PS100012" in drivers


def test_the_transport_lines_around_a_location_request(environment: LocalEnvironment) -> None:
    smsts = entries(run(environment, ON_DEMAND).logs["smsts.log"])
    upgrade = [e for e in smsts if e.component == "OSDUpgradeWindows"]
    start = next(i for i, e in enumerate(upgrade) if e.message == "Resolving content for SMS Package PS100011")
    expected = [
        r"Resolving content for SMS Package PS100011",
        r"Site Code \w{3}",
        r"MP https://\S+/CCM_Proxy_MutualAuth/\d+",
        r"TSPkgVar _SMSTSPS100011",
        r"RunFromDPEnabled false",
        r"Resolving local content for PS100011:1",
        r"   Setting URL = https://\S+/CCM_Proxy_MutualAuth/\d+, Ports = 80,443, CRL = false",
        r"   Setting Server Certificates\.",
        r"   Setting Authenticator\.",
        r"Converting MutualAuth URL to ServerAuth: https://\S+/CCM_Proxy_ServerAuth/\d+",
        r"CLibSMSMessageWinHttpTransport::Send: WinHttpOpenRequest - URL: \S+:\d+  CCM_POST "
        r"CCM_Proxy_ServerAuth/\d+/ccm_system_tokenauth/request",
        r"SSL, using authenticator in request\.",
        r"Request was successful\.",
        r"::DecompressBuffer\(65536\)",
        r"Decompression \(zlib\) succeeded: original size \d+, uncompressed size \d+\.",
        r"Location Reply:\n<!\[CDATA\[<ContentLocationReply .*</ContentLocationReply>\]\]>",
        r"Processing 1 locations\.",
    ]
    window = [e.message for e in upgrade[start:]]
    at = 0
    for pattern in expected:  # in this order; other lines may come between
        at = next((i for i in range(at, len(window)) if re.fullmatch(pattern, window[i], re.DOTALL)), -1) + 1
        assert at, f"no {pattern!r} after the lines before it:\n" + "\n".join(m[:160] for m in window[:40])
    sources = {e.message.split(":")[0]: e.file for e in upgrade if e.message.startswith("CLibSMSMessage")}
    assert sources == {"CLibSMSMessageWinHttpTransport": "libsmsmessaging.cpp:9728"}, sources


def test_download_all_writes_the_content_transfer_manager_log(environment: LocalEnvironment) -> None:
    logs = run(environment, DOWNLOAD_ALL).logs
    assert "ContentTransferManager.log" in logs, sorted(logs)
    ctm = [e.message for e in entries(logs["ContentTransferManager.log"])]
    for pattern in (r"Queued location request '\{[0-9A-F-]{36}\}' for CTM job '\{[0-9A-F-]{36}\}'\.",
                    r"CCTMJob::EvaluateState\(JobID=\{[0-9A-F-]{36}\}, State=RequestedLocations\)",
                    r"Persisted locations for CTM job \{[0-9A-F-]{36}\}:\s+\(INTERNET\) https://\S+",
                    r"CTM job \{[0-9A-F-]{36}\} \(corresponding DTS job \{[0-9A-F-]{36}\}\) started download from "
                    r"'https://\S+' for full content download\."):
        assert any(re.fullmatch(pattern, m) for m in ctm), f"no {pattern!r} in:\n" + "\n".join(ctm)


def test_the_same_run_writes_the_same_smsts_log(environment: LocalEnvironment) -> None:
    first = run(environment, ON_DEMAND).logs["smsts.log"]
    assert run(environment, ON_DEMAND).logs["smsts.log"] == first

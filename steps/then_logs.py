"""Then steps on what the client's logs say, read as CMTrace lines: the task sequence engine's transport lines, and the
source file and thread every line names (B-55)."""

from __future__ import annotations

import re

from pytest_bdd import parsers, then

from harness.drivers.run import RunResult
from harness.model.client_logs import PROGRAMS
from harness.protocol.cmtrace import LogLine, parse_log

# The lines a step's program writes around a location request through the CMG, in order (B-54); others may
# come between them.
_LOCATION_REQUEST = (
    r"Resolving content for SMS Package {package}",
    r"TSPkgVar _SMSTS{package}",
    r"Resolving local content for {package}:\d+",
    r"   Setting URL = https://\S+/CCM_Proxy_MutualAuth/\d+, Ports = 80,443, CRL = false",
    r"CLibSMSMessageWinHttpTransport::Send: WinHttpOpenRequest - URL: \S+:\d+  CCM_POST CCM_Proxy_\w+/\d+/\S+",
    r"Request was successful\.",
    r"Decompression \(zlib\) succeeded: original size \d+, uncompressed size \d+\.",
    r"Location Reply:\n<!\[CDATA\[<ContentLocationReply .*\]\]>",
    r"Processing \d+ locations\.",
)
_SOURCE = re.compile(r"\w+\.(?:cpp|cxx|h):\d+")


def smsts_lines(run: RunResult) -> list[LogLine]:
    assert "smsts.log" in run.logs, f"the run wrote no smsts.log; it wrote {sorted(run.logs)}"
    return parse_log(run.logs["smsts.log"])


@then("smsts.log shows the engine converting the CMG's MutualAuth URL to ServerAuth")
def converts_to_server_auth(run: RunResult) -> None:
    """The task sequence engine of a token client converted the CMG's MutualAuth URL before its location request
    (B-44)."""
    converted = [line.message for line in smsts_lines(run)
                 if re.fullmatch(r"Converting MutualAuth URL to ServerAuth: https://\S+/CCM_Proxy_ServerAuth/\d+",
                                 line.message)]
    assert converted, "smsts.log has no 'Converting MutualAuth URL to ServerAuth' line"


@then(parsers.parse('smsts.log shows the program of the step "{step}" requesting the locations of {package_id} '
                    "through the CMG"))
def location_request_lines(run: RunResult, step: str, package_id: str) -> None:
    """The step's own program (OSDUpgradeOS.exe, smsswd.exe …) wrote the engine's transport lines around the location
    request, under its own component and in the product's order: resolving the package, the transport to the CMG,
    the request, its reply, the locations."""
    action = run.first("step.start", step=step)["action"]
    assert action in PROGRAMS, f"the step {step!r} ({action}) runs inside TSManager, not as a program of its own"
    component = PROGRAMS[action].component
    mine = [line.message for line in smsts_lines(run) if line.component == component]
    at = 0
    for pattern in (p.format(package=re.escape(package_id)) for p in _LOCATION_REQUEST):
        at = next((i for i in range(at, len(mine)) if re.fullmatch(pattern, mine[i], re.DOTALL)), -1) + 1
        assert at, f"{component} wrote no {pattern!r} after the lines before it:\n" + "\n".join(m[:160] for m in mine)


@then("every line of the client's logs names its source file and thread")
def lines_name_source_and_thread(run: RunResult) -> None:
    """Each line of each client log carries file="<source>:<line>" and a thread id, as the product's do."""
    for name, text in run.logs.items():
        for line in parse_log(text):
            assert _SOURCE.fullmatch(line.file) and line.thread, (
                f"{name}: file={line.file!r} thread={line.thread} on {line.message[:100]!r}")

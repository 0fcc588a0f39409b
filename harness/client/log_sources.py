"""Where each client log line says it comes from: its source file and line, and the thread that wrote it.

The product writes `file="<source.cpp:line>"` on every line and the id of the writing thread, which stays the same
for as long as a process lives (B-55). Source locations quoted below come from public logs:

- [Q1007260] a 2022 smsts.log in CMTrace form — https://learn.microsoft.com/en-us/answers/questions/1007260/
  (TSManager's transport lines in libsmsmessaging.cpp, its thread 2000, "MP server …" in utils.cpp).
- [I69] https://github.com/MSEndpointMgr/ModernDriverManagement/issues/69 — resolvesource.cpp lines of a location
  request through the CMG.
- [DAT21] https://github.com/maurice-daly/DriverAutomationTool/issues/21 — a step program resolving its package on
  demand in CMTrace form (resolvesource.cpp:4098, utils.cpp:7842, main.cpp).
- [QF2007] the ConfigMgr 2007 quick-fix post: downloadcontent.cpp and resolvesource.cpp lines of a
  download by InstallSoftware.
- [KB18408] "Troubleshoot the Install Application task sequence step", https://support.microsoft.com/help/18408 —
  TSManager's thread 2176 (0x880), InstallApplication's 1608 (0x648).
- [PB17ZJ] https://pastebin.com/17ZjeJUQ — OSDUpgradeOS.exe logs as component OSDUpgradeWindows, thread 6704.
- [I249] https://github.com/MSEndpointMgr/ModernDriverManagement/issues/249 — OSDDownloadContent's thread 752.
- [GIST] https://gist.github.com/ITPirate/29c8de6dcf1b7195f3ff4eb5b0a02c95 — DataTransferService in CMTrace form
  (util.cpp:703, util.cpp:770, ccmhttperror.cpp:357; thread 6900).

Everything not quoted is [INFERENCE]: a plausible file of the component, a line number the harness chose.
"""

from __future__ import annotations

# -- the task sequence engine's transport (libsmsmessaging.cpp) [Q1007260] -------------------------------------------
SEND = "libsmsmessaging.cpp:9728"  # CLibSMSMessageWinHttpTransport::Send: WinHttpOpenRequest - URL: …
SSL_AUTHENTICATOR = "libsmsmessaging.cpp:9863"  # SSL, using authenticator in request.
SSL_NO_CLIENT_CERT = "libsmsmessaging.cpp:9884"  # In SSL, but with no client cert.
REQUEST_SUCCEEDED = "libsmsmessaging.cpp:10090"  # Request was successful.
SSL_CLIENT_CERT = "libsmsmessaging.cpp:9877"  # [INFERENCE] a PKI client's line, between the two above
DECOMPRESS = "libsmsmessaging.cpp:5213"  # [INFERENCE] ::DecompressBuffer(65536)
DECOMPRESSED = "libsmsmessaging.cpp:5235"  # [INFERENCE] Decompression (zlib) succeeded: …
HTTP_STATUS = "libsmsmessaging.cpp:10120"  # [INFERENCE] an HTTP error status (its code, as 0x8019xxxx)

# -- resolving a package's content (resolvesource.cpp) --------------------------------------------------------------
RESOLVING = "resolvesource.cpp:4149"  # [INFERENCE] Resolving content for SMS Package …
SITE_CODE = "resolvesource.cpp:4160"  # [INFERENCE]
MP = "resolvesource.cpp:4161"  # [INFERENCE]
TS_PKG_VAR = "resolvesource.cpp:4185"  # [INFERENCE]
RUN_FROM_DP = "resolvesource.cpp:4190"  # [INFERENCE]
RESOLVING_LOCAL = "resolvesource.cpp:4625"  # [INFERENCE]
LOCAL_PACKAGE = "resolvesource.cpp:4690"  # [INFERENCE] Package ID = …, Source Version = …
NO_CREDENTIALS = "resolvesource.cpp:4770"  # [INFERENCE]
PREPARE_TRANSPORT = "utils.cpp:7348"  # "MP server …" / Setting URL = … [Q1007260]
TRANSPORT_SETTINGS = "utils.cpp:7370"  # Setting Server Certificates / Authenticator [Q1007260]
CONVERTING = "utils.cpp:7405"  # [INFERENCE] Converting MutualAuth URL to ServerAuth: …
LOCATION_REPLY = "resolvesource.cpp:2590"  # [INFERENCE] Location Reply: <![CDATA[…]]>
PROCESSING = "resolvesource.cpp:2611"  # [INFERENCE] Processing N locations.
NO_LOCATION = "resolvesource.cpp:2665"  # the HRESULT=80040102 line's own location [I69]

# -- downloading (downloadcontent.cpp) [QF2007] ---------------------------------------------------------------------
DOWNLOADED_FILE = "downloadcontent.cpp:1046"  # [INFERENCE] Downloaded file from … to …
DOWNLOAD_STATUS = "downloadcontent.cpp:1090"  # the status check that fails on an HTTP error [QF2007]
DOWNLOAD_FAILED = "downloadcontent.cpp:1175"  # DownloadFile(…) failed [QF2007]

# -- TSManager -----------------------------------------------------------------------------------------------------
EXECUTING = "CommandLine.cpp:1042"  # [INFERENCE] Executing command line: …
PROCESS_COMPLETED = "CommandLine.cpp:1136"  # Process completed with exit code … [Q1007260]

# A component's lines that name no source of their own. [INFERENCE] each a file of that component.
DEFAULT_FILES = {
    "TSManager": "engine.cxx:1150",
    "OSDUpgradeWindows": "upgradeos.cpp:212",
    "InstallSoftware": "installsoftware.cpp:688",
    "InstallApplication": "installapplication.cpp:1022",
    "OSDDownloadContent": "main.cpp:276",
    "execmgr": "execreqmgr.cpp:2851",
    "TSAgent": "tsagentsvc.cpp:563",
    "LocationServices": "lsad.cpp:1152",
    "ContentAccess": "contentaccessservice.cpp:1398",
    "ContentTransferManager": "ctmjob.cpp:602",
    "DataTransferService": "util.cpp:703",  # [GIST]
    "ClientLocation": "clientlocationinfo.cpp:314",
    "CcmMessaging": "ccmhttp.cpp:1121",
    "ClientIDManagerStartup": "regtask.cpp:889",
}

# The first thread of each component's process. Public logs show these ids ([KB18408], [PB17ZJ], [I249], [GIST],
# [Q1007260]); the product's differ from run to run. The step programs are one process per step: the harness adds 4
# (Windows' thread ids are multiples of 4) for each further process of the same program in a run.
# [INFERENCE] the ids of the client's own components, which all live in ccmexec.exe.
THREADS = {
    "TSManager": 2176,
    "OSDUpgradeWindows": 6704,
    "InstallSoftware": 2776,
    "InstallApplication": 1608,
    "OSDDownloadContent": 752,
    "execmgr": 4380,
    "TSAgent": 4380,
    "LocationServices": 3260,
    "ContentAccess": 5132,
    "ContentTransferManager": 5132,
    "DataTransferService": 6900,
    "ClientLocation": 3260,
    "CcmMessaging": 4712,
    "ClientIDManagerStartup": 3544,
}
UNKNOWN_THREAD = 1


def default_file(component: str) -> str:
    return DEFAULT_FILES.get(component, "ccmexec.cpp:1")


def first_thread(component: str) -> int:
    return THREADS.get(component, UNKNOWN_THREAD)

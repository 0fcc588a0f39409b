"""Every log of a real run opens cleanly in a CMTrace-format parser and carries the documented line shapes
(B-55): the client's logs, and the management point's and the CMG's, over the local environment."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from harness.drivers.agent import AgentDriver
from harness.drivers.cmg import CmgDriver
from harness.drivers.run import RunResult
from harness.drivers.site import SiteDriver
from harness.environments.local import LocalEnvironment
from harness.protocol.cmtrace import LogLine, parse_log

RUN_TIMEOUT_S = 120.0
ON_DEMAND = "Download content locally when needed by the running task sequence"
DOWNLOAD_ALL = "Download all content locally before starting task sequence"
PACKAGES = [("PS100011", "Windows 11 upgrade media", "OS upgrade package", "3.2 GB"),
            ("PS100012", "Post-upgrade scripts", "Package", "20 MB")]
STEPS = [{"name": "Check Readiness", "action": "Check Readiness", "duration": "2 minutes"},
         {"name": "Upgrade Operating System", "action": "Upgrade Operating System", "package": "PS100011",
          "duration": "40 minutes"},
         {"name": "Run post-upgrade scripts", "action": "Run Command Line", "package": "PS100012",
          "duration": "1 minute"}]

# The components each log's lines may carry: the client's from B-54 (smsts.log's components are
# listed there; [INFERENCE] the others carry their own component names), the services' from B-44.
CLIENT_COMPONENTS = {
    # OSDUpgradeOS.exe logs as OSDUpgradeWindows (https://pastebin.com/17ZjeJUQ); smsappinstall.exe as
    # InstallApplication (KB 18408).
    "smsts.log": {"TSManager", "TSPxe", "InstallSoftware", "OSDDownloadContent", "OSDUpgradeOS", "OSDUpgradeWindows",
                  "InstallApplication"},
    "execmgr.log": {"execmgr"},
    "TSAgent.log": {"TSAgent"},
    "LocationServices.log": {"LocationServices"},
    "CAS.log": {"ContentAccess"},
    "ContentTransferManager.log": {"ContentTransferManager"},
    "DataTransferService.log": {"DataTransferService"},
    "ClientLocation.log": {"ClientLocation"},
    "CcmMessaging.log": {"CcmMessaging"},
    "ClientIDManagerStartup.log": {"ClientIDManagerStartup"},
}
SITE_COMPONENTS = {
    "MP_Location.log": {"MP_LocationManager"},
    "MP_Policy.log": {"MP_PolicyManager"},
    "CCM_STS.log": {"CCM_STS"},
    "MP_GetAuth.log": {"MP_GetAuth_ISAPI"},
    "MP_RegistrationManager.log": {"MP_RegistrationManager"},
}
CMG_COMPONENTS = {
    "CMGService.log": {"CMGService"},
    "SMS_Cloud_ProxyConnector.log": {"SMS_CLOUD_PROXYCONNECTOR"},
    "CMGContentService.log": {"CMGContentService"},
}


@dataclass(frozen=True)
class Drivers:
    site: SiteDriver
    cmg: CmgDriver
    agent: AgentDriver


@dataclass(frozen=True)
class Logs:
    """A finished run with every log parsed: the client's, the site's and the CMG's."""

    run: RunResult
    client: dict[str, list[LogLine]]
    site: dict[str, list[LogLine]]
    cmg: dict[str, list[LogLine]]


@pytest.fixture
def environment(module_environment: LocalEnvironment) -> LocalEnvironment:
    return module_environment


@pytest.fixture
def drivers(environment: LocalEnvironment) -> Drivers:
    environment.reset()
    endpoints = environment.endpoints
    return Drivers(SiteDriver(environment.http, endpoints["mp"].control_base),
                   CmgDriver(environment.http, endpoints["cmg"].control_base),
                   AgentDriver(environment.http, endpoints["client"].control_base))


def run_over_the_cmg(d: Drivers, version: int, option: str) -> Logs:
    """An internet client installs the upgrade from Software Center; both packages are only on the CMG."""
    d.site.set_serve_content("cmg", True)
    for package_id, name, kind, size in PACKAGES:
        d.site.define_package(package_id, name, size, kind=kind)
        d.site.distribute(package_id, "cmg")
    d.site.define_task_sequence("PS100010", "Upgrade to Windows 11", STEPS)
    d.site.set_version(version)
    d.site.deploy("PS120001", "PS100010", option=option)
    # Site-issued tokens exist from 2002 (their CCM_STS lines are checked below); earlier sites get a PKI client.
    token = d.site.registration_token("CLIENT01") if version >= 2002 else None
    d.agent.create_client("CLIENT01", network="internet", site_token=token)
    run_id = d.agent.install("CLIENT01", "PS120001")
    result = d.agent.wait("CLIENT01", run_id, RUN_TIMEOUT_S)
    client = {name: d.agent.log("CLIENT01", run_id, name) for name in result.state["logs"]}
    return Logs(result, parsed(client, CLIENT_COMPONENTS), parsed(d.site.logs(), SITE_COMPONENTS),
                parsed(d.cmg.logs(), CMG_COMPONENTS))


def parsed(logs: dict[str, str], documented: dict[str, set[str]]) -> dict[str, list[LogLine]]:
    """Each log parsed with the CMTrace parser; every line's component is one documented for its log."""
    result = {}
    for name, text in logs.items():
        assert name in documented, f"{name} is not a documented log: {sorted(documented)}"
        lines = parse_log(text)
        assert lines, f"{name} is listed but empty"
        strays = {line.component for line in lines} - documented[name]
        assert not strays, f"{name} has lines from {sorted(strays)}; documented: {sorted(documented[name])}"
        result[name] = lines
    return result


def has(lines: list[LogLine], pattern: str) -> None:
    """Some line's message matches the regular expression (searched, not anchored)."""
    assert any(re.search(pattern, line.message) for line in lines), (
        f"no line matches {pattern!r}:\n" + "\n".join(line.message[:200] for line in lines))


def test_on_demand_run_over_the_cmg_logs_every_hop(drivers: Drivers, environment: LocalEnvironment) -> None:
    logs = run_over_the_cmg(drivers, 2002, ON_DEMAND)
    assert logs.run.status == "succeeded", logs.run.reason
    cmg_id = environment.topology.cmg_mp_id
    smsts, locations = logs.client["smsts.log"], logs.client["LocationServices.log"]
    has(smsts, r"^Converting MutualAuth URL to ServerAuth: https://\S+/CCM_Proxy_ServerAuth/" + cmg_id + "$")
    has(smsts, r"^Processing 1 locations\.$")
    has(locations, r"^ContentLocationRequest : <ContentLocationRequest")
    has(locations, r"^ContentLocationReply : <ContentLocationReply")
    has(logs.cmg["CMGService.log"], rf"^RequestUri: /CCM_PROXY_SERVERAUTH/{cmg_id}/CCM_STS  RequestCount: 1  "
                                    r"RequestSize: \d+ Bytes  ResponseCount: 1  ResponseSize: \d+ Bytes  "
                                    r"AverageElapsedTime: \d+ ms$")
    connector = logs.cmg["SMS_Cloud_ProxyConnector.log"]
    has(connector, rf"^Switched to internal URL\. Replaced 'https://\S+/CCM_Proxy_ServerAuth/{cmg_id}/CCM_STS' "
                   r"with 'https://cm01\.corp\.contoso\.example:\d+/CCM_STS'$")
    has(connector, r"^MessageID: [0-9a-f-]{36} RequestURI: https://\S+/CCM_STS EndpointName: CCM_STS "
                   r"ResponseHeader: HTTP/1\.1 200 OK ~~ ResponseBodySize: \d+ ElapsedTime: \d+ ms$")
    has(logs.cmg["CMGContentService.log"], r"^Served content manifest for pid=PS100011 ")
    has(logs.site["MP_Location.log"], r"^Content location request received from CLIENT01 for package PS100011:1, "
                                      r"UseAzure=1 UseInternetDP=1$")
    has(logs.site["MP_Location.log"], r"^Content location reply for package PS100011:1 to CLIENT01 with 1 locations")
    has(logs.site["MP_Policy.log"], r"^Policy body PS120001-PS100010-\w+ served to CLIENT01")
    sts = [line.message for line in logs.site["CCM_STS.log"]]
    assert sts[:4] == [sts[0], sts[1], "Issued token", "Return token to client"]
    assert sts[0].startswith("Validated ") and sts[1].startswith("Created SCCM token, token type: ")


def test_a_run_with_no_content_location_logs_0x80040102(drivers: Drivers) -> None:
    logs = run_over_the_cmg(drivers, 1906, ON_DEMAND)
    assert (logs.run.status, logs.run.exit_code) == ("failed", "0x80040102"), logs.run.reason
    has(logs.client["smsts.log"], r"^Processing 0 locations\.$")
    has(logs.client["smsts.log"], r"^Content location request for PS\w+:1 failed, hr=0x80040102$")
    has(logs.site["MP_Location.log"], r"^Content location request received from CLIENT01 for package PS100011:1, "
                                      r"UseAzure=0 UseInternetDP=1$")
    has(logs.site["MP_Location.log"], r"with 0 locations, site locality FALLBACK$")
    assert "CMGContentService.log" not in logs.cmg  # nothing was downloaded


def test_download_all_run_logs_the_hash_verification(drivers: Drivers) -> None:
    logs = run_over_the_cmg(drivers, 2107, DOWNLOAD_ALL)
    assert logs.run.status == "succeeded", logs.run.reason
    has(logs.client["CAS.log"], r"^Hash verification succeeded for content ")
    for package_id, *_ in PACKAGES:
        has(logs.cmg["CMGContentService.log"], rf"^Served content manifest for pid={package_id} ")
    has(logs.cmg["CMGService.log"], r"/CCM_SYSTEM_TOKENAUTH/REQUEST  RequestCount: 1 ")

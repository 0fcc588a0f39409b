"""What the embedded environments share: the topology from environments/local.toml, the endpoints and the
configuration each service reads, the control client, reset between scenarios, and the up/down life cycle.

`local` runs the services as processes (harness/environments/local.py), `containers` as containers
(harness/environments/containers.py); both hand the services the same configurations.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.clock.model_clock import CLOCK_MODES, ModelClock, VirtualTime
from harness.environments.base import ALL_CAPABILITIES, Endpoints, RunningEnvironment, ServiceEndpoint
from harness.model.client_settings import CloudServicesSettings
from harness.model.units import Scale
from harness.net.tls import TestPKI
from harness.protocol.paths import PEER_VDIR
from harness.service.configs import (
    AgentServiceConfig,
    CloudDpServiceConfig,
    CloudSource,
    CmgServiceConfig,
    ContentDeclarations,
    EgressTo,
    Enrollment,
    Host,
    NetworkServiceConfig,
    ServiceConfigs,
    SiteEndpoints,
    SiteServiceConfig,
    StorageAccount,
    StorageServiceConfig,
    Tls,
)

log = logging.getLogger("cmg_harness.environment")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFINITION = PROJECT_ROOT / "environments" / "local.toml"
START_TIMEOUT = 60.0
PYTHON_SERVICES = ("site", "cmg", "clouddp", "client", "network", "storage")
# The services clients reach through the network's fault proxies (the agent is the harness's own).
PROXIED = ("site", "cmg", "clouddp", "storage")
NETWORK_FQDN = "network.harness.example"  # the network process's Toxiproxy API


@dataclass
class Topology:
    """Names and identities, from environments/local.toml."""

    site_code: str
    version: int
    mp_fqdn: str
    branch_dp_fqdn: str
    peer_fqdn: str
    cmg_name: str
    cmg_fqdn: str
    cmg_mp_id: str
    cmg_account: str
    cmg_serve_content: bool
    cmg_deployment_name: str
    clouddp_name: str
    clouddp_fqdn: str
    clouddp_account: str
    clouddp_installed: bool
    blob_suffix: str
    agent_fqdn: str
    allow_cloud_dp_default: bool
    scale: float

    @classmethod
    def load(cls, path: Path = DEFINITION) -> Topology:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        site, cmg, clouddp = data["site"], data["cmg"], data["clouddp"]
        return cls(site_code=site["site_code"], version=int(site["version"]), mp_fqdn=site["management_point"],
                   branch_dp_fqdn=site["branch_dp"], peer_fqdn=site["peer_cache_source"],
                   cmg_name=cmg["name"], cmg_fqdn=cmg["service_name"], cmg_mp_id=str(cmg["mp_id"]),
                   cmg_account=cmg["storage_account"], cmg_serve_content=bool(cmg["serve_content"]),
                   cmg_deployment_name=cmg["deployment_name"],
                   clouddp_name=clouddp["name"], clouddp_fqdn=clouddp["service_name"],
                   clouddp_account=clouddp["storage_account"], clouddp_installed=bool(clouddp["installed"]),
                   blob_suffix=data["storage"]["blob_suffix"], agent_fqdn=data["client_agent"]["hostname"],
                   allow_cloud_dp_default=bool(data["client_agent"].get("allow_cloud_dp", True)),
                   scale=float(data["run"]["scale"]))

    def account_host(self, account: str) -> str:
        return f"{account}.{self.blob_suffix}"

    @property
    def peer_name(self) -> str:
        """The peer cache source's computer name: its host name's first label (pc01.corp… is PC01)."""
        return self.peer_fqdn.split(".")[0].upper()


@dataclass
class EmulatedEnvironment(RunningEnvironment):
    """Every service emulated by the harness; subclasses say how the services run (`_start`, `_stop_services`)."""

    scale: float | None = None
    topology: Topology = field(default_factory=Topology.load)
    name: str = "emulated"
    keep_workdir: bool = False
    clock_mode: str = "real"  # "virtual": model time from the network process's clock authority


    def __post_init__(self) -> None:
        self.model_scale = Scale(self.scale if self.scale is not None else self.topology.scale)
        if self.clock_mode not in CLOCK_MODES:
            raise ValueError(f"unknown clock {self.clock_mode!r}: use real or virtual")
        self.capabilities = ALL_CAPABILITIES
        self._workdir: Path | None = None
        self._endpoints: Endpoints | None = None
        self._http: httpx.Client | None = None
        self.timings: dict[str, float] = {}
        self.clock: ModelClock | None = None  # the services' model clock, once configured

    # -- up ------------------------------------------------------------------------------------

    def _stop_services(self) -> None:
        raise NotImplementedError

    def _new_workdir(self, prefix: str) -> Path:
        self._workdir = Path(tempfile.mkdtemp(prefix=prefix))
        return self._workdir

    def endpoints_for(self, ports: dict[str, int], ca: Path, public: dict[str, int] | None = None) -> Endpoints:
        """`ports`: each service's own port; `public`: the fault proxy's port in front of it, where clients go
        (none: clients reach the service directly, as in the in-process stack)."""
        topo = self.topology
        public = public or {}

        def endpoint(name: str, service: str, hostname: str, path: str, zone: str = "internet") -> ServiceEndpoint:
            return ServiceEndpoint(name, hostname, public.get(service, ports[service]), path, zone=zone,
                                   control_port=ports[service])

        services = {
            "mp": endpoint("mp", "site", topo.mp_fqdn, "/", "intranet"),
            # A second on-premises DP for boundary groups, served by the site process under its own name.
            "branch_dp": endpoint("branch_dp", "site", topo.branch_dp_fqdn, "/SMS_DP_SMSPKG$/", "intranet"),
            # A client that can be a peer cache source: the site process serves its SuperPeer share too.
            "peer": endpoint("peer", "site", topo.peer_fqdn, f"/{PEER_VDIR}/", "intranet"),
            "cmg": endpoint("cmg", "cmg", topo.cmg_fqdn, f"/CCM_Proxy_MutualAuth/{topo.cmg_mp_id}"),
            "storage": endpoint("storage", "storage", topo.account_host(topo.cmg_account), "/"),
            "clouddp": endpoint("clouddp", "clouddp", topo.clouddp_fqdn, "/"),
            "client": endpoint("client", "client", topo.agent_fqdn, "/", "control"),
        }
        if "network" in ports:
            services["network"] = endpoint("network", "network", NETWORK_FQDN, "/", "control")
        # The cloud DP's storage account is another name for the same Azurite.
        # The CMG's deployment name resolves to it as a CNAME would, but its certificate does not cover it.
        extra = ((topo.account_host(topo.clouddp_account), "127.0.0.1", "internet"),
                 (topo.cmg_deployment_name, "127.0.0.1", "internet"))
        return Endpoints(self.name, self.model_scale, ca, services, extra_hosts=extra, clock=self.clock_mode,
                         site_code=topo.site_code)

    def service_configs(self, endpoints: Endpoints, pki: TestPKI, workdir: Path, keys: dict[str, str],
                        azurite_port: int | None = None, authority_port: int | None = None) -> ServiceConfigs:
        """Each service's configuration, as it reads it on stdin (the in-process stack builds apps from it).

        `azurite_port`: where Azurite itself listens, behind the storage front (default: the storage endpoint's
        own port, as in the in-process stack, which has no front). `authority_port`: where the network process
        serves the virtual clock's actors (virtual clock only)."""
        topo = self.topology
        virtual = None
        if self.clock_mode == "virtual":
            if authority_port is None:
                raise ValueError("a virtual clock needs the port of its authority")
            virtual = VirtualTime(workdir / "model-time", f"127.0.0.1:{authority_port}")
        # Kept: an external-environment file written for these services gives their clients the same clock.
        self.clock = ModelClock.starting_now(self.model_scale, virtual)
        clock = self.clock
        key = secrets.token_hex(32)
        names = {"site": [topo.mp_fqdn, topo.branch_dp_fqdn, topo.peer_fqdn], "cmg": [topo.cmg_fqdn],
                 "clouddp": [topo.clouddp_fqdn], "client": [topo.agent_fqdn], "network": [NETWORK_FQDN],
                 "storage": [f"*.{topo.blob_suffix}", topo.account_host(topo.cmg_account)]}
        tls = {name: _tls(pki, name, hosts, client_certificates=name == "cmg") for name, hosts in names.items()}
        # The site uploads to Azurite directly (a storage fault never hits distribution); SAS URLs name the
        # public port, behind the network's proxy and the storage front.
        storage = endpoints["storage"]
        azurite_port = azurite_port or storage.control_port
        account, clouddp_account = (StorageAccount(name=name, key=keys[name],
                                                   endpoint=f"https://127.0.0.1:{azurite_port}/{name}",
                                                   public_endpoint=f"https://{topo.account_host(name)}:{storage.port}")
                                    for name in (topo.cmg_account, topo.clouddp_account))
        cmg, clouddp = endpoints["cmg"], endpoints["clouddp"]
        # Where the services that send content declare it, so the network's links weigh it as model bytes.
        network = endpoints.services.get("network")
        declare = ContentDeclarations(url=network.control_base, hosts={network.hostname: network.ip}) \
            if network else None
        enrollment = pki.enrollment_ca()
        return ServiceConfigs(
            site=SiteServiceConfig(
                network=declare, tls=tls["site"], clock=clock, key=key, site_code=topo.site_code,
                version=topo.version, mp_fqdn=topo.mp_fqdn, mp_port=endpoints["mp"].port,
                other_dps=[Host(name="dp2", fqdn=topo.branch_dp_fqdn)],
                peer_cache_sources=[Host(name=topo.peer_name, fqdn=topo.peer_fqdn)],
                cloud_sources=[CloudSource(name=topo.cmg_name, kind="cmg", fqdn=topo.cmg_fqdn, port=cmg.port,
                                           serve_content=topo.cmg_serve_content,
                                           deployment_name=topo.cmg_deployment_name, storage=account),
                               CloudSource(name=topo.clouddp_name, kind="clouddp", fqdn=topo.clouddp_fqdn,
                                           port=clouddp.port, installed=topo.clouddp_installed,
                                           storage=clouddp_account)]),
            cmg=CmgServiceConfig(tls=tls["cmg"], clock=clock, key=key, cmg_id=topo.cmg_mp_id,
                                 mp_url=endpoints["mp"].base, hosts=endpoints.hosts("intranet"), storage=account),
            clouddp=CloudDpServiceConfig(tls=tls["clouddp"], clock=clock, key=key, name=topo.clouddp_name,
                                         storage=clouddp_account),
            network=NetworkServiceConfig(tls=tls["network"], seed=0, clock=clock),
            # The front checks SAS as Azure storage does: it needs the accounts' keys.
            storage=StorageServiceConfig(network=declare, tls=tls["storage"], clock=clock,
                                         upstream=f"https://127.0.0.1:{azurite_port}",
                                         accounts={a.name: a.key for a in (account, clouddp_account)},
                                         cmg_egress=EgressTo(url=cmg.control_base, account=topo.cmg_account,
                                                             hosts={cmg.hostname: cmg.ip})),
            client=AgentServiceConfig(
                tls=tls["client"], clock=clock, workdir=str(workdir / "clients"),
                enrollment=Enrollment(cert=str(enrollment.cert_path), key=str(enrollment.key_path)),
                default_settings=CloudServicesSettings(allow_cloud_dp=topo.allow_cloud_dp_default),
                zones={"internet": endpoints.hosts("internet"), "intranet": endpoints.hosts("intranet")},
                endpoints=SiteEndpoints(topo.site_code, endpoints["mp"].base, cmg.url)),
        )

    # -- between scenarios -----------------------------------------------------------------------

    def reset(self) -> dict[str, float]:
        """Reset every service in parallel; returns each one's reset time in milliseconds."""
        services = {service: self.endpoints[name].control_base for service, name in
                    (("site", "mp"), ("cmg", "cmg"), ("clouddp", "clouddp"), ("client", "client"),
                     ("network", "network"), ("storage", "storage"))}
        with ThreadPoolExecutor(len(services)) as pool:
            answers = dict(zip(services, pool.map(self._reset_one, services.values()), strict=True))
        return answers

    def _reset_one(self, base: str) -> float:
        started = time.perf_counter()
        self.http.post(f"{base}/_harness/reset").raise_for_status()
        return (time.perf_counter() - started) * 1e3

    # -- down ------------------------------------------------------------------------------------

    def down(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        self._stop_services()
        if self._workdir is not None and not self.keep_workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = None

    @property
    def model_clock(self) -> ModelClock:
        if self.clock is None:
            raise RuntimeError("the environment is not up")
        return self.clock

    @property
    def workdir(self) -> Path | None:
        return self._workdir


def _tls(pki: TestPKI, service: str, hostnames: list[str], client_certificates: bool) -> Tls:
    """`service`'s certificate for `hostnames`; the CMG asks for PKI clients' certificates on
    CCM_Proxy_MutualAuth (`client_certificates`)."""
    cert = pki.issue_server_cert(service, [*hostnames, "127.0.0.1"])
    return Tls(ca=str(pki.ca_cert_path), cert=str(cert.cert_path), key=str(cert.key_path),
               client_certificates=client_certificates)

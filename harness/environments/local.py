"""The embedded `local` environment: every service a process on 127.0.0.1, nothing but Python and Node.

Start-up runs in parallel: the Python services are spawned on sockets bound here (so their ports
are known at once) and wait for their configuration on stdin while Azurite starts; once Azurite
reports its port, every service gets the full name map. Start time is about Azurite's own.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
import socket
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.environments.azurite import AzuriteProcess, find_azurite_blob, generate_account_key
from harness.environments.base import Endpoints, ServiceEndpoint
from harness.environments.processes import ManagedProcess, ProcessGroup
from harness.model.units import ModelClock, Scale
from harness.net.http import make_client
from harness.net.tls import TestPKI

log = logging.getLogger("cmg_harness.environment")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFINITION = PROJECT_ROOT / "environments" / "local.toml"
READY = re.compile(r"^READY (\w+) 127\.0\.0\.1:(\d+)$")
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
                   branch_dp_fqdn=site["branch_dp"],
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


@dataclass
class LocalEnvironment:
    scale: float | None = None
    topology: Topology = field(default_factory=Topology.load)
    name: str = "local"
    keep_workdir: bool = False

    def __post_init__(self) -> None:
        self.factor = Scale(self.scale if self.scale is not None else self.topology.scale).factor
        self._group = ProcessGroup()
        self._workdir: Path | None = None
        self._endpoints: Endpoints | None = None
        self._http: httpx.Client | None = None
        self._azurite: AzuriteProcess | None = None
        self.timings: dict[str, float] = {}

    # -- up ------------------------------------------------------------------------------------

    def up(self) -> Endpoints:
        started = time.perf_counter()
        try:
            self._endpoints = self._start()
        except BaseException:
            self.down()
            raise
        self.timings["start_s"] = time.perf_counter() - started
        log.info("local environment up in %.2f s", self.timings["start_s"])
        return self._endpoints

    def _start(self) -> Endpoints:
        workdir = self._workdir = Path(tempfile.mkdtemp(prefix="cmg-harness-"))
        topo = self.topology
        pki = TestPKI.create(workdir / "pki")
        sockets = {name: _bind() for name in PYTHON_SERVICES}
        listeners = {name: _bind() for name in PROXIED}  # the public ports, handed to the network process
        ports = {name: s.getsockname()[1] for name, s in sockets.items()}
        public = {name: s.getsockname()[1] for name, s in listeners.items()}
        listener_fds = {name: s.fileno() for name, s in listeners.items()}  # the same numbers in the child
        procs = {name: self._spawn(name, sockets[name], workdir,
                                   extra_fds=list(listener_fds.values()) if name == "network" else [])
                 for name in PYTHON_SERVICES}
        for sock in [*sockets.values(), *listeners.values()]:
            sock.close()  # the children hold their own copies
        keys = {topo.cmg_account: generate_account_key(), topo.clouddp_account: generate_account_key()}
        azurite_port = self.start_azurite(pki, workdir, keys)
        endpoints = self.endpoints_for(ports, pki.ca_cert_path, public=public)
        configs = self.service_configs(endpoints, pki, workdir, keys, azurite_port=azurite_port)
        configs["network"]["proxies"] = [{"name": name, "upstream": f"127.0.0.1:{ports[name]}",
                                          "listen_fd": listener_fds[name]} for name in PROXIED]
        for name, proc in procs.items():
            proc.write_stdin(json.dumps(configs[name]).encode())
        for proc in procs.values():
            proc.wait_for_line(READY, START_TIMEOUT)
        self._http = make_client(endpoints.hosts(), pki.ca_cert_path, timeout=30.0)
        return endpoints

    def _spawn(self, service: str, sock: socket.socket, workdir: Path,
               extra_fds: list[int] | None = None) -> ManagedProcess:
        fd = sock.fileno()
        argv = [sys.executable, "-m", "harness.emulators.serve", service, "--fd", str(fd), "--config", "-"]
        proc = ManagedProcess(service, argv, log_path=workdir / "logs" / f"{service}.log",
                              pass_fds=[fd, *(extra_fds or [])], cwd=PROJECT_ROOT)
        (workdir / "logs").mkdir(exist_ok=True)
        self._group.add(proc)
        proc.start()
        return proc

    def start_azurite(self, pki: TestPKI, workdir: Path, accounts: dict[str, str]) -> int:
        """Azurite with both storage accounts; down() stops it. Returns its port."""
        topo = self.topology
        cert = pki.issue_server_cert("azurite", [f"*.{topo.blob_suffix}", topo.account_host(topo.cmg_account),
                                                 "127.0.0.1"])
        (workdir / "azurite").mkdir()
        self._azurite = AzuriteProcess(executable=find_azurite_blob(PROJECT_ROOT), cert=cert, accounts=accounts,
                                       log_path=workdir / "logs" / "storage.log", workdir=workdir / "azurite")
        port = self._azurite.start(timeout=START_TIMEOUT)
        self.timings["azurite_ready_s"] = self._azurite.ready_seconds or 0.0
        return port

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
        return Endpoints(self.name, self.factor, ca, services, extra_hosts=extra)

    def service_configs(self, endpoints: Endpoints, pki: TestPKI, workdir: Path, keys: dict[str, str],
                        azurite_port: int | None = None) -> dict[str, Any]:
        """Each service's configuration, as it reads it on stdin (the in-process stack builds apps from it).

        `azurite_port`: where Azurite itself listens, behind the storage front (default: the storage endpoint's
        own port, as in the in-process stack, which has no front)."""
        topo = self.topology
        clock = ModelClock.starting_now(Scale(self.factor)).to_json()
        key = secrets.token_hex(32)
        names = {"site": [topo.mp_fqdn, topo.branch_dp_fqdn], "cmg": [topo.cmg_fqdn],
                 "clouddp": [topo.clouddp_fqdn], "client": [topo.agent_fqdn], "network": [NETWORK_FQDN],
                 "storage": [f"*.{topo.blob_suffix}", topo.account_host(topo.cmg_account)]}
        tls: dict[str, dict[str, str | bool]] = {name: {"ca": str(pki.ca_cert_path), **_cert_paths(pki, name, hosts)}
                                                 for name, hosts in names.items()}
        # The site uploads to Azurite directly (a storage fault never hits distribution); SAS URLs name the
        # public port, behind the network's proxy and the storage front.
        storage = endpoints["storage"]
        azurite_port = azurite_port or storage.control_port
        account, clouddp_account = ({"name": name, "key": keys[name],
                                     "endpoint": f"https://127.0.0.1:{azurite_port}/{name}",
                                     "public_endpoint": f"https://{topo.account_host(name)}:{storage.port}"}
                                    for name in (topo.cmg_account, topo.clouddp_account))
        cmg, clouddp = endpoints["cmg"], endpoints["clouddp"]
        tls["cmg"]["client_certificates"] = True  # PKI clients on CCM_Proxy_MutualAuth
        enrollment = pki.enrollment_ca()
        return {
            "site": {"tls": tls["site"], "clock": clock, "key": key, "site_code": topo.site_code,
                     "version": topo.version, "mp_fqdn": topo.mp_fqdn, "mp_port": endpoints["mp"].port,
                     "other_dps": [{"name": "dp2", "fqdn": topo.branch_dp_fqdn}],
                     "cloud_sources": [{"name": topo.cmg_name, "kind": "cmg", "fqdn": topo.cmg_fqdn,
                                        "port": cmg.port, "serve_content": topo.cmg_serve_content,
                                        "deployment_name": topo.cmg_deployment_name, "storage": account},
                                       {"name": topo.clouddp_name, "kind": "clouddp", "fqdn": topo.clouddp_fqdn,
                                        "port": clouddp.port, "installed": topo.clouddp_installed,
                                        "storage": clouddp_account}]},
            "cmg": {"tls": tls["cmg"], "clock": clock, "key": key, "cmg_id": topo.cmg_mp_id,
                    "mp_url": endpoints["mp"].base, "hosts": endpoints.hosts("intranet"), "storage": account},
            "clouddp": {"tls": tls["clouddp"], "clock": clock, "key": key, "name": topo.clouddp_name,
                        "storage": clouddp_account},
            "network": {"tls": tls["network"], "seed": 0},
            "storage": {"tls": tls["storage"], "clock": clock, "upstream": f"https://127.0.0.1:{azurite_port}"},
            "client": {"tls": tls["client"], "clock": clock, "workdir": str(workdir / "clients"),
                       "enrollment": {"cert": str(enrollment.cert_path), "key": str(enrollment.key_path)},
                       "default_settings": {"allow_cloud_dp": topo.allow_cloud_dp_default},
                       "zones": {"internet": endpoints.hosts("internet"), "intranet": endpoints.hosts("intranet")},
                       "endpoints": {"site_code": topo.site_code, "mp_url": endpoints["mp"].base,
                                     "cmg_url": cmg.url}},
        }

    def __enter__(self) -> LocalEnvironment:
        self.up()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.down()

    # -- between scenarios -----------------------------------------------------------------------

    @property
    def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            raise RuntimeError("the environment is not up")
        return self._endpoints

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            raise RuntimeError("the environment is not up")
        return self._http

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
        if self._azurite is not None:
            self._azurite.stop()
            self._azurite = None
        self._group.stop_all()
        if self._workdir is not None and not self.keep_workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = None

    @property
    def workdir(self) -> Path | None:
        return self._workdir


def _bind() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Connections accepted on it inherit SO_REUSEADDR; without it a proxy that was down could not listen on
    # its port again while any of them lingers in FIN_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _cert_paths(pki: TestPKI, service: str, hostnames: list[str]) -> dict[str, str]:
    cert = pki.issue_server_cert(service, [*hostnames, "127.0.0.1"])
    return {"cert": str(cert.cert_path), "key": str(cert.key_path)}

"""The embedded `local` environment: every service a process on 127.0.0.1, nothing but Python and Node.

Start-up runs in parallel: the Python services are spawned on sockets bound here (so their ports
are known at once) and wait for their configuration on stdin while Azurite starts; once Azurite
reports its port, every service gets the full name map. Start time is about Azurite's own.
"""

from __future__ import annotations

import json
import re
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.environments.azurite import AzuriteProcess, find_azurite_blob, generate_account_key
from harness.environments.base import Endpoints
from harness.environments.emulated import (
    DEFINITION,
    NETWORK_FQDN,
    PROJECT_ROOT,
    PROXIED,
    PYTHON_SERVICES,
    START_TIMEOUT,
    EmulatedEnvironment,
    Topology,
)
from harness.environments.processes import ManagedProcess, ProcessGroup
from harness.net.http import make_client
from harness.net.tls import TestPKI
from harness.service.configs import Listener, Proxy

__all__ = ["DEFINITION", "NETWORK_FQDN", "PROJECT_ROOT", "PROXIED", "PYTHON_SERVICES", "LocalEnvironment", "Topology"]

READY = re.compile(r"^READY (\w+) 127\.0\.0\.1:(\d+)$")


@dataclass
class LocalEnvironment(EmulatedEnvironment):
    name: str = "local"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._group = ProcessGroup()
        self._azurite: AzuriteProcess | None = None

    def _start(self) -> Endpoints:
        workdir = self._new_workdir("cmg-harness-")
        topo = self.topology
        pki = TestPKI.create(workdir / "pki")
        sockets = {name: _bind() for name in PYTHON_SERVICES}
        listeners = {name: _bind() for name in PROXIED}  # the public ports, handed to the network process
        ports = {name: s.getsockname()[1] for name, s in sockets.items()}
        public = {name: s.getsockname()[1] for name, s in listeners.items()}
        listener_fds = {name: s.fileno() for name, s in listeners.items()}  # the same numbers in the child
        authority = _bind() if self.clock_mode == "virtual" else None  # the virtual clock's, in the network
        authority_port, authority_fd = authority.getsockname()[1] if authority else None, \
            authority.fileno() if authority else None
        network_fds = [*listener_fds.values(), *([authority_fd] if authority_fd is not None else [])]
        procs = {name: self._spawn(name, sockets[name], workdir, extra_fds=network_fds if name == "network" else [])
                 for name in PYTHON_SERVICES}
        for sock in [*sockets.values(), *listeners.values(), *([authority] if authority else [])]:
            sock.close()  # the children hold their own copies
        keys = {topo.cmg_account: generate_account_key(), topo.clouddp_account: generate_account_key()}
        azurite_port = self.start_azurite(pki, workdir, keys)
        endpoints = self.endpoints_for(ports, pki.ca_cert_path, public=public)
        configs = self.service_configs(endpoints, pki, workdir, keys, azurite_port=azurite_port,
                                       authority_port=authority_port)
        configs = configs.with_network(
            authority=Listener(listen_fd=authority_fd) if authority_fd is not None else None,
            proxies=[Proxy(name=name, upstream=f"127.0.0.1:{ports[name]}", listen_fd=listener_fds[name])
                          for name in PROXIED])
        for name, proc in procs.items():
            proc.write_stdin(json.dumps(configs[name].to_json()).encode())
        for proc in procs.values():
            proc.wait_for_line(READY, START_TIMEOUT)
        self._http = make_client(endpoints.hosts(), pki.ca_cert_path, timeout=30.0)
        return endpoints

    def _spawn(self, service: str, sock: socket.socket, workdir: Path,
               extra_fds: list[int] | None = None) -> ManagedProcess:
        fd = sock.fileno()
        argv = [sys.executable, "-m", "harness.service.serve", service, "--fd", str(fd), "--config", "-"]
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

    def _stop_services(self) -> None:
        if self._azurite is not None:
            self._azurite.stop()
            self._azurite = None
        self._group.stop_all()


def _bind() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Connections accepted on it inherit SO_REUSEADDR; without it a proxy that was down could not listen on
    # its port again while any of them lingers in FIN_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock

"""The `external` environment: the services run elsewhere (a lab, or another harness's `cmg-harness up`) and a
TOML file says where; the clients are always the harness's own, in a client agent process started here.

    ExternalEnvironment(path)        reads and checks the file; up() starts the agent, down() stops it

The file is read and checked in external_config.py, and external_writer.py writes one for a running local
environment, so the suite can run against it as if it were a lab (how this environment is tested). The file
holds no secrets: a credential is named by the environment variable that carries it, read when the environment
comes up, handed only to whatever needs it, and never logged, written to a file or put in an error message.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx

from harness.clock.model_clock import ModelClock
from harness.environments.base import CONTROL, FAULTS, Endpoints, RunningEnvironment, ServiceEndpoint
from harness.environments.external_config import load_external_file, read_secret
from harness.environments.processes import ManagedProcess, ProcessGroup
from harness.model.client_settings import CloudServicesSettings
from harness.model.units import Scale
from harness.net.http import make_client
from harness.net.tls import TestPKI
from harness.service.configs import AgentServiceConfig, Enrollment, SiteEndpoints, Tls

log = logging.getLogger("cmg_harness.environment")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
READY = re.compile(r"^READY client 127\.0\.0\.1:(\d+)$")


class ExternalEnvironment(RunningEnvironment):
    """Services elsewhere, clients here. Scenarios that configure or fault the services need CONTROL / FAULTS.

    `scale`, when given, must be the one the services run at (an external environment cannot change it)."""

    def __init__(self, path: Path, *, scale: float | None = None, keep_workdir: bool = False) -> None:
        self.config = load_external_file(path)
        if scale is not None and Scale(scale).factor != self.config.scale:
            raise ValueError(f"{self.config.path}: the services run at scale {self.config.scale:g}, but scale "
                             f"{scale:g} was asked for; an external environment cannot change its services' scale")
        for name in self.config.secret_variables():
            read_secret(self.config, name)  # fail now, not half-way through start-up
        self.name = "external"
        self.model_scale = Scale(self.config.scale)
        self.capabilities = self.config.capabilities
        self.keep_workdir = keep_workdir
        self.timings: dict[str, float] = {}
        self._group = ProcessGroup()
        self._agent: ManagedProcess | None = None
        self._workdir: Path | None = None
        self._endpoints: Endpoints | None = None
        self._http: httpx.Client | None = None
        self._lab_clock: ModelClock | None = None

    def __repr__(self) -> str:
        return f"ExternalEnvironment({str(self.config.path)!r}, scale={self.model_scale.factor:g})"

    # -- up ------------------------------------------------------------------------------------

    def _start(self) -> Endpoints:
        workdir = self._workdir = Path(tempfile.mkdtemp(prefix="cmg-harness-external-"))
        pki = TestPKI.create(workdir / "pki")  # the agent's own server certificate, so the harness can reach it
        bundle = _ca_bundle(workdir / "ca-bundle.pem", [self.config.ca, pki.ca_cert_path])
        sock = _bind()
        endpoints = self._endpoints_for(sock.getsockname()[1], bundle)
        self._agent = self._spawn_agent(sock, workdir)
        sock.close()  # the agent holds its own copy
        self._agent.write_stdin(json.dumps(self._agent_config(endpoints, pki, workdir).to_json()).encode())
        self._agent.wait_for_line(READY, START_TIMEOUT)
        self._http = make_client(endpoints.hosts(), bundle, timeout=30.0)
        if self.config.control_token_env is not None:
            self._http.auth = ControlToken(read_secret(self.config, self.config.control_token_env), endpoints)
        self._check_control_apis(endpoints)
        return endpoints

    def _endpoints_for(self, agent_port: int, ca: Path) -> Endpoints:
        agent = ServiceEndpoint("client", self.config.agent_hostname, agent_port, "/", zone="control",
                                control_port=agent_port)
        given = self.config.services
        # The local environment's order, so listings and reports read the same.
        order = ("mp", "branch_dp", "peer", "cmg", "storage", "clouddp")
        services = {name: given[name] for name in order if name in given} | {"client": agent}
        if "network" in given:
            services["network"] = given["network"]
        return Endpoints(self.name, self.model_scale, ca, services, extra_hosts=self.config.extra_hosts,
                         site_code=self.config.site_code)

    def _agent_config(self, endpoints: Endpoints, pki: TestPKI, workdir: Path) -> AgentServiceConfig:
        """The client agent's configuration, as the local environment's (service_configs)."""
        cert = pki.issue_server_cert("client", [self.config.agent_hostname, "127.0.0.1"])
        return AgentServiceConfig(
            # Product traffic trusts the services' CA; the agent's own certificate is from the harness's test CA.
            tls=Tls(ca=str(self.config.ca), cert=str(cert.cert_path), key=str(cert.key_path)),
            clock=self._clock(), workdir=str(workdir / "clients"), enrollment=self._enrollment(pki),
            default_settings=CloudServicesSettings(allow_cloud_dp=self.config.allow_cloud_dp),
            zones={"internet": endpoints.hosts("internet"), "intranet": endpoints.hosts("intranet")},
            endpoints=SiteEndpoints(self.config.site_code, endpoints["mp"].base, endpoints["cmg"].url))

    def _clock(self) -> ModelClock:
        if self.config.clock is not None:
            return self.config.clock
        if self._lab_clock is None:
            # Not given (a real lab): model time is wall-clock time from now, at the services' scale.
            self._lab_clock = ModelClock(self.model_scale, real_epoch=time.time(), model_epoch=datetime.now(UTC))
        return self._lab_clock

    @property
    def model_clock(self) -> ModelClock:
        return self._clock()

    def _enrollment(self, pki: TestPKI) -> Enrollment:
        """Where PKI clients get their certificates. Without one in the file they come from a throw-away CA the
        services do not trust: only clients with a site-issued token can then reach the CMG."""
        cert, key_env = self.config.enrollment_cert, self.config.enrollment_key_env
        if cert is None or key_env is None:
            own = pki.enrollment_ca()
            return Enrollment(cert=str(own.cert_path), key=str(own.key_path))
        key = Path(read_secret(self.config, key_env)).expanduser()
        if not key.is_file():
            raise ValueError(f"{self.config.path}: the file named by the environment variable {key_env} does not "
                             "exist; set it to the path of the enrollment CA's private key (PEM)")
        return Enrollment(cert=str(cert), key=str(key))

    def _spawn_agent(self, sock: socket.socket, workdir: Path) -> ManagedProcess:
        fd = sock.fileno()
        argv = [sys.executable, "-m", "harness.service.serve", "client", "--fd", str(fd), "--config", "-"]
        # The agent needs none of the credentials: they stay out of its environment.
        env = {k: v for k, v in os.environ.items() if k not in self.config.secret_variables()}
        agent = ManagedProcess("client", argv, log_path=workdir / "logs" / "client.log", env=env, pass_fds=[fd],
                               cwd=PROJECT_ROOT)
        self._group.add(agent)
        agent.start()
        return agent

    def _check_control_apis(self, endpoints: Endpoints) -> None:
        """Fail at start-up, naming the service, when a control URL in the file answers nothing useful."""
        for name, service in endpoints.services.items():
            if service.control_port is None or name in ("client", "network"):
                continue
            try:
                self.http.get(f"{service.control_base}/_harness/health").raise_for_status()
            except httpx.HTTPError as error:
                raise RuntimeError(f"{self.config.path}: {name}'s control API at {service.control_base} does not "
                                   f"answer /_harness/health: {type(error).__name__}: {error}") from None

    # -- between scenarios ---------------------------------------------------------------------

    @property
    def workdir(self) -> Path | None:
        return self._workdir

    @property
    def agent_pid(self) -> int | None:
        return self._agent.pid if self._agent is not None else None

    def reset(self) -> dict[str, float]:
        """The client agent always; the services only when their control APIs are known (CONTROL).
        Returns each one's reset time in milliseconds, named as the local environment names them."""
        resets: dict[str, Callable[[], None]] = {"client": self._reset_call("client", "/_harness/reset")}
        if CONTROL in self.capabilities:
            resets |= {service: self._reset_call(name, "/_harness/reset")
                       for service, name in (("site", "mp"), ("cmg", "cmg"), ("clouddp", "clouddp"),
                                             ("storage", "storage"))}
        if FAULTS in self.capabilities:
            resets["network"] = self._reset_call("network", "/reset")  # Toxiproxy's own reset
        with ThreadPoolExecutor(len(resets)) as pool:
            return dict(zip(resets, pool.map(_timed, resets.values()), strict=True))

    def _reset_call(self, name: str, path: str) -> Callable[[], None]:
        url = f"{self.endpoints[name].control_base}{path}"

        def reset() -> None:
            self.http.post(url).raise_for_status()

        return reset

    # -- down ----------------------------------------------------------------------------------

    def down(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        self._group.stop_all()
        self._agent = None
        self._endpoints = None  # the agent's port is gone with it
        if self._workdir is not None and not self.keep_workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = None


class ControlToken(httpx.Auth):
    """`Authorization: Bearer` on control requests only: `/_harness/…` on a service's control port and the
    network's Toxiproxy API. Product URLs and the harness's own agent never see it."""

    def __init__(self, token: str, endpoints: Endpoints) -> None:
        self._token = token
        services = endpoints.services.values()
        self._control = {(s.hostname.lower(), s.control_port) for s in services
                         if s.control_port is not None and s.name not in ("client", "network")}
        self._network = {(s.hostname.lower(), s.port) for s in services if s.name == "network"}

    def __repr__(self) -> str:
        return "ControlToken(<hidden>)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        address = (request.url.host.lower(), request.url.port or 443)
        if address in self._network or (address in self._control and request.url.path.startswith("/_harness/")):
            request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def _timed(call: Callable[[], None]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1e3


def _bind() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _ca_bundle(target: Path, sources: Iterable[Path]) -> Path:
    """One PEM file with every CA: the harness talks to both the services and its own agent."""
    target.write_bytes(b"\n".join(source.read_bytes().strip() for source in sources) + b"\n")
    return target

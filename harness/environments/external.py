"""The `external` environment: the services run elsewhere (a lab, or another harness's `cmg-harness up`) and a
TOML file says where; the clients are always the harness's own, in a client agent process started here.

    ExternalEnvironment(path)        reads and checks the file; up() starts the agent, down() stops it
    write_external_file(env, path)   describes a running local environment in that format, so the suite can
                                     run against it as if it were a lab (how this environment is tested)

The format is explained key by key in environments/external.example.toml. The file holds no secrets: a
credential is named by the environment variable that carries it, read when the environment comes up, handed
only to whatever needs it, and never logged, written to a file or put in an error message.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import secrets
import shlex
import shutil
import socket
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import SplitResult, urlsplit

import httpx

from harness.clock.model_clock import ModelClock
from harness.environments.base import CONTROL, FAULTS, Endpoints, RunningEnvironment, ServiceEndpoint
from harness.environments.processes import ManagedProcess, ProcessGroup
from harness.model.units import Scale
from harness.net.http import make_client
from harness.net.tls import TestPKI

log = logging.getLogger("cmg_harness.environment")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
READY = re.compile(r"^READY client 127\.0\.0\.1:(\d+)$")
DEFAULT_AGENT_HOST = "clients.harness.example"
# Each service's zone is its role's: clients on the internet never see the site server's names.
SERVICE_ZONES = {"mp": "intranet", "branch_dp": "intranet", "peer": "intranet", "cmg": "internet",
                 "storage": "internet", "clouddp": "internet"}
OPTIONAL_SERVICES = frozenset({"branch_dp", "peer", "clouddp"})
# The services scenarios configure and reset through a control API; all of them must have one for CONTROL.
CONTROLLED = ("mp", "cmg", "clouddp", "storage")
# The variables write_external_file names (a lab's file may name any others).
ENROLLMENT_KEY_ENV = "CMG_HARNESS_ENROLLMENT_KEY"
CONTROL_TOKEN_ENV = "CMG_HARNESS_CONTROL_TOKEN"
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
_DNS_NAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                       r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_CMG_PATH = re.compile(r"^/CCM_Proxy_MutualAuth/[^/]+$")


# -- the file ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExternalConfig:
    """What an external environment file says. Credentials appear only as the names of environment variables."""

    path: Path
    scale: float
    site_code: str
    ca: Path  # the CA bundle the services' TLS certificates chain to
    services: dict[str, ServiceEndpoint]  # mp, branch_dp, cmg, storage, clouddp, network (as given)
    extra_hosts: tuple[tuple[str, str, str], ...]  # (hostname, address, zone)
    agent_hostname: str = DEFAULT_AGENT_HOST
    allow_cloud_dp: bool = True
    enrollment_cert: Path | None = None
    enrollment_key_env: str | None = None  # names the variable holding the path of the enrollment CA's key
    control_token_env: str | None = None  # names the variable holding a bearer token for the control APIs
    clock: ModelClock | None = None  # the services' model clock, when the file gives it

    @property
    def capabilities(self) -> frozenset[str]:
        control = all(name in self.services and self.services[name].control_port is not None
                      for name in CONTROLLED)
        if not control:
            return frozenset()
        return frozenset({CONTROL, FAULTS}) if "network" in self.services else frozenset({CONTROL})

    def secret_variables(self) -> dict[str, str]:
        """The variables this file names, each with what it must hold."""
        wanted = {self.enrollment_key_env: "the path of the enrollment CA's private key (PEM)",
                  self.control_token_env: "the bearer token of the services' control APIs"}
        return {name: what for name, what in wanted.items() if name is not None}


class _Table:
    """One TOML table being read: each key is taken once; whatever is left is an unknown key.

    Errors name the file and the dotted key, never the value (a value in the wrong place may be a secret)."""

    def __init__(self, data: dict[str, Any], file: Path, prefix: str = "") -> None:
        self._data, self.file, self.prefix = dict(data), file, prefix

    def error(self, key: str, problem: str) -> ValueError:
        return ValueError(f"{self.file}: {self.prefix}{key}: {problem}")

    def has(self, key: str) -> bool:
        return key in self._data

    def take(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self._data:
            if default is ...:
                raise self.error(key, "missing (required)")
            return default
        value = self._data.pop(key)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.error(key, f"must be {_kind_name(kind)}")
        return value

    def table(self, key: str, *, required: bool = True) -> _Table | None:
        data = self.take(key, dict, ... if required else None)
        return None if data is None else _Table(data, self.file, f"{self.prefix}{key}.")

    def tables(self, key: str) -> list[_Table]:
        items = self.take(key, list, [])
        if not all(isinstance(item, dict) for item in items):
            raise self.error(key, "must be an array of tables ([[" + self.prefix + key + "]])")
        return [_Table(item, self.file, f"{self.prefix}{key}[{n}].") for n, item in enumerate(items)]

    def path(self, key: str) -> Path:
        text = self.take(key, str)
        found = (self.file.parent / Path(text).expanduser()).resolve()  # relative to the file's folder
        if not found.is_file():
            raise self.error(key, f"file {found} does not exist")
        return found

    def env_name(self, key: str) -> str | None:
        name: str | None = self.take(key, str, None)
        if name is not None and not _ENV_NAME.match(name):
            # Not echoed: someone may have pasted the secret itself here.
            raise self.error(key, "must be the NAME of an environment variable (upper-case letters, digits and _), "
                                  "not a secret value; put the value in that variable")
        return name

    def done(self) -> None:
        if self._data:
            unknown = ", ".join(f"{self.prefix}{key}" for key in sorted(self._data))
            raise ValueError(f"{self.file}: unknown key(s) {unknown}; see environments/external.example.toml")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", bool: "true or false", int: "a number", float: "a number", dict: "a table",
             list: "an array", datetime: "a date-time"}
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))


def load_external_file(path: Path) -> ExternalConfig:
    """Reads and checks an external environment file; a ValueError names the file and the key at fault."""
    path = Path(path).expanduser().resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"{path}: cannot read the external environment file: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML: {error}") from None
    return parse_external(data, path)


def parse_external(data: dict[str, Any], path: Path) -> ExternalConfig:
    """The checked configuration from a parsed file (`path` for messages and relative file names)."""
    top = _Table(data, path)
    scale = float(top.take("scale", (int, float)))
    if not scale >= 1:
        raise top.error("scale", "must be 1 or more (model units per physical unit)")
    site_code = top.take("site_code", str)
    if not re.fullmatch(r"[A-Za-z0-9]{3}", site_code):
        raise top.error("site_code", "must be a three-character site code such as PS1")
    ca = top.path("ca")
    services = _services(top)
    extra = tuple(_extra_host(table) for table in top.tables("extra_hosts"))
    agent, enrollment, control, clock = (top.table(key, required=False)
                                         for key in ("client_agent", "enrollment", "control", "clock"))
    config = ExternalConfig(path=path, scale=scale, site_code=site_code, ca=ca,
                            services=services, extra_hosts=extra, **_agent(agent), **_enrollment(enrollment),
                            control_token_env=_control(control), clock=_clock(clock, scale))
    top.done()
    _check_addresses(config)
    return config


def _services(top: _Table) -> dict[str, ServiceEndpoint]:
    services_table = top.table("services")
    assert services_table is not None
    services = {}
    for name in SERVICE_ZONES:
        table = services_table.table(name, required=name not in OPTIONAL_SERVICES)
        if table is not None:
            services[name] = _service(name, table)
    services_table.done()
    network = top.table("network", required=False)
    if network is not None:
        services["network"] = _network(network)
    return services


def _service(name: str, table: _Table) -> ServiceEndpoint:
    url = _https_url(table, "url")
    if name == "cmg" and not _CMG_PATH.match(url.path):
        raise table.error("url", "the CMG's URL is the one clients are given: https://<service name>[:port]"
                                 "/CCM_Proxy_MutualAuth/<management point ID>")
    control_port = None
    if table.has("control_url"):
        control = _https_url(table, "control_url")
        if control.hostname != url.hostname or control.path not in ("", "/"):
            raise table.error("control_url", "must be https://<the same host name as url>:<port>/ (the harness "
                                             "reaches a service's control API by the service's own name)")
        control_port = control.port or 443
    service = ServiceEndpoint(name, str(url.hostname), url.port or 443, url.path or "/", zone=SERVICE_ZONES[name],
                              ip=_address(table), control_port=control_port)
    table.done()
    return service


def _network(table: _Table) -> ServiceEndpoint:
    url = _https_url(table, "url")
    if url.path not in ("", "/"):
        raise table.error("url", "the Toxiproxy API is served at the root: https://<host>:<port>/")
    port = url.port or 443
    service = ServiceEndpoint("network", str(url.hostname), port, "/", zone="control", ip=_address(table),
                              control_port=port)
    table.done()
    return service


def _https_url(table: _Table, key: str) -> SplitResult:
    """Values are not echoed: a URL may carry credentials, which is one of the things refused here."""
    text: str = table.take(key, str)
    try:
        url = urlsplit(text)
        _ = url.port  # raises ValueError for a port that is not a number or is out of range
    except ValueError:
        raise table.error(key, "is not a URL") from None
    if url.username is not None or url.password is not None or url.query or url.fragment:
        raise table.error(key, "must not carry credentials or parameters (user:password@, ?query such as a SAS "
                               "token, #fragment); name an environment variable for a credential instead")
    if url.scheme != "https" or not url.hostname or not _DNS_NAME.match(url.hostname):
        raise table.error(key, "must be an https:// URL with a host name (the name clients resolve)")
    return url


def _address(table: _Table) -> str:
    address: str = table.take("address", str, "127.0.0.1")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise table.error("address", "must be an IP address (the one the host name resolves to)") from None
    return address


def _extra_host(table: _Table) -> tuple[str, str, str]:
    hostname = table.take("hostname", str)
    if not _DNS_NAME.match(hostname):
        raise table.error("hostname", "must be a host name")
    zone = table.take("zone", str, "internet")
    if zone not in ("internet", "intranet"):
        raise table.error("zone", "must be internet or intranet (which clients can resolve the name)")
    entry = (hostname, _address(table), zone)
    table.done()
    return entry


def _agent(table: _Table | None) -> dict[str, Any]:
    if table is None:
        return {}
    hostname = table.take("hostname", str, DEFAULT_AGENT_HOST)
    if not _DNS_NAME.match(hostname):
        raise table.error("hostname", "must be a host name")
    found = {"agent_hostname": hostname, "allow_cloud_dp": table.take("allow_cloud_dp", bool, True)}
    table.done()
    return found


def _enrollment(table: _Table | None) -> dict[str, Any]:
    if table is None:
        return {}
    found = {"enrollment_cert": table.path("cert"), "enrollment_key_env": table.env_name("key_path_env")}
    if found["enrollment_key_env"] is None:
        raise table.error("key_path_env", "missing (required): the name of the variable that holds the path of "
                                          "the enrollment CA's private key")
    table.done()
    return found


def _control(table: _Table | None) -> str | None:
    if table is None:
        return None
    name = table.env_name("token_env")
    table.done()
    return name


def _clock(table: _Table | None, scale: float) -> ModelClock | None:
    if table is None:
        return None
    epoch = table.take("model_epoch", datetime)
    if epoch.tzinfo is None:
        raise table.error("model_epoch", "must carry a time zone offset (Z for UTC)")
    clock = ModelClock(Scale(scale), real_epoch=float(table.take("real_epoch", (int, float))), model_epoch=epoch)
    table.done()
    return clock


def _check_addresses(config: ExternalConfig) -> None:
    """One name, one address: the resolver is a plain map."""
    seen: dict[str, str] = {}
    entries = [(s.hostname, s.ip) for s in config.services.values()] + [(h, a) for h, a, _ in config.extra_hosts]
    for hostname, address in [*entries, (config.agent_hostname, "127.0.0.1")]:
        if seen.setdefault(hostname.lower(), address) != address:
            raise ValueError(f"{config.path}: host {hostname} is given two addresses ({seen[hostname.lower()]} "
                             f"and {address})")


def read_secret(config: ExternalConfig, name: str) -> str:
    """A named variable's value; a clear error naming the variable (never showing a value) when it is unset."""
    value = os.environ.get(name)
    if not value:
        what = config.secret_variables().get(name, "a value")
        raise ValueError(f"{config.path} names the environment variable {name}, which is not set: set it to {what}")
    return value


# -- the environment ---------------------------------------------------------------------------------------


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
        self.factor = self.config.scale
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
        return f"ExternalEnvironment({str(self.config.path)!r}, scale={self.factor:g})"

    # -- up ------------------------------------------------------------------------------------

    def _start(self) -> Endpoints:
        workdir = self._workdir = Path(tempfile.mkdtemp(prefix="cmg-harness-external-"))
        pki = TestPKI.create(workdir / "pki")  # the agent's own server certificate, so the harness can reach it
        bundle = _ca_bundle(workdir / "ca-bundle.pem", [self.config.ca, pki.ca_cert_path])
        sock = _bind()
        endpoints = self._endpoints_for(sock.getsockname()[1], bundle)
        self._agent = self._spawn_agent(sock, workdir)
        sock.close()  # the agent holds its own copy
        self._agent.write_stdin(json.dumps(self._agent_config(endpoints, pki, workdir)).encode())
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
        return Endpoints(self.name, self.factor, ca, services, extra_hosts=self.config.extra_hosts)

    def _agent_config(self, endpoints: Endpoints, pki: TestPKI, workdir: Path) -> dict[str, Any]:
        """The client agent's configuration, the same shape as the local environment's (service_configs)."""
        cert = pki.issue_server_cert("client", [self.config.agent_hostname, "127.0.0.1"])
        return {
            # Product traffic trusts the services' CA; the agent's own certificate is from the harness's test CA.
            "tls": {"ca": str(self.config.ca), "cert": str(cert.cert_path), "key": str(cert.key_path)},
            "clock": self._clock().to_json(), "workdir": str(workdir / "clients"),
            "enrollment": self._enrollment(pki),
            "default_settings": {"allow_cloud_dp": self.config.allow_cloud_dp},
            "zones": {"internet": endpoints.hosts("internet"), "intranet": endpoints.hosts("intranet")},
            "endpoints": {"site_code": self.config.site_code, "mp_url": endpoints["mp"].base,
                          "cmg_url": endpoints["cmg"].url},
        }

    def _clock(self) -> ModelClock:
        if self.config.clock is not None:
            return self.config.clock
        if self._lab_clock is None:
            # Not given (a real lab): model time is wall-clock time from now, at the services' scale.
            self._lab_clock = ModelClock(Scale(self.factor), real_epoch=time.time(), model_epoch=datetime.now(UTC))
        return self._lab_clock

    @property
    def model_clock(self) -> ModelClock:
        return self._clock()

    def _enrollment(self, pki: TestPKI) -> dict[str, str]:
        """Where PKI clients get their certificates. Without one in the file they come from a throw-away CA the
        services do not trust: only clients with a site-issued token can then reach the CMG."""
        cert, key_env = self.config.enrollment_cert, self.config.enrollment_key_env
        if cert is None or key_env is None:
            own = pki.enrollment_ca()
            return {"cert": str(own.cert_path), "key": str(own.key_path)}
        key = Path(read_secret(self.config, key_env)).expanduser()
        if not key.is_file():
            raise ValueError(f"{self.config.path}: the file named by the environment variable {key_env} does not "
                             "exist; set it to the path of the enrollment CA's private key (PEM)")
        return {"cert": str(cert), "key": str(key)}

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


# -- describing a local environment ------------------------------------------------------------------------


class _Topology(Protocol):
    @property
    def site_code(self) -> str: ...

    @property
    def agent_fqdn(self) -> str: ...

    @property
    def allow_cloud_dp_default(self) -> bool: ...


class EmulatedServices(Protocol):
    """A running environment of the harness's own services (LocalEnvironment; the containers one too)."""

    @property
    def topology(self) -> _Topology: ...

    @property
    def endpoints(self) -> Endpoints: ...

    @property
    def workdir(self) -> Path | None: ...


def external_variables(env: EmulatedServices, *, control_token_env: str | None = None) -> dict[str, str]:
    """The environment variables a file from `write_external_file(env, …)` names, with the values to give them."""
    workdir = _workdir_of(env)
    found = {ENROLLMENT_KEY_ENV: str(workdir / "pki" / "enrollment-ca.key")}  # TestPKI.enrollment_ca()'s file
    if control_token_env is not None:
        # Any value will do: the emulated services do not check it (it shows that the token never leaks).
        found[control_token_env] = secrets.token_urlsafe(24)
    return found


def write_external_file(env: EmulatedServices, path: Path, *, control_token_env: str | None = None) -> list[str]:
    """Writes a file that describes the running `env` (with control URLs and the network: CONTROL and FAULTS).

    Returns the variables to set before using it, as shell assignments (`NAME=value`, the value quoted)."""
    variables = external_variables(env, control_token_env=control_token_env)
    path.write_text(render_toml(describe(env, control_token_env=control_token_env)), encoding="utf-8")
    return [f"{name}={shlex.quote(value)}" for name, value in variables.items()]


def describe(env: EmulatedServices, *, control_token_env: str | None = None) -> dict[str, Any]:
    """The content of `write_external_file`'s file, as the data TOML parses it to."""
    endpoints, workdir, topology = env.endpoints, _workdir_of(env), env.topology
    data: dict[str, Any] = {
        "scale": endpoints.scale, "site_code": topology.site_code, "ca": str(endpoints.ca_cert),
        "client_agent": {"hostname": topology.agent_fqdn, "allow_cloud_dp": topology.allow_cloud_dp_default},
        "enrollment": {"cert": str(workdir / "pki" / "enrollment-ca.pem"), "key_path_env": ENROLLMENT_KEY_ENV},
        "services": {name: _service_entry(endpoints[name]) for name in SERVICE_ZONES if name in endpoints.services},
        "extra_hosts": [{"hostname": host, "address": ip, "zone": zone} for host, ip, zone in endpoints.extra_hosts],
    }
    if "network" in endpoints.services:
        network = endpoints["network"]
        data["network"] = {"url": f"{network.control_base}/", "address": network.ip}
    if control_token_env is not None:
        data["control"] = {"token_env": control_token_env}
    clock = getattr(env, "clock", None)  # the services' model clock, where the environment keeps it
    if isinstance(clock, ModelClock):
        data["clock"] = {"real_epoch": clock.real_epoch, "model_epoch": clock.model_epoch}
    return data


def _service_entry(service: ServiceEndpoint) -> dict[str, Any]:
    entry = {"url": service.url, "address": service.ip}
    if service.control_port is not None:
        entry["control_url"] = f"{service.control_base}/"
    return entry


def _workdir_of(env: EmulatedServices) -> Path:
    if env.workdir is None:
        raise RuntimeError("the local environment is not up")
    return env.workdir


def render_toml(data: dict[str, Any]) -> str:
    """TOML for the shapes `describe` makes: scalars, tables of scalars or tables, arrays of tables."""
    lines: list[str] = []
    _emit_table(lines, data, "")
    return "\n".join(lines).lstrip("\n") + "\n"


def _emit_table(lines: list[str], table: dict[str, Any], prefix: str) -> None:
    for key, value in table.items():
        if not isinstance(value, dict | list):
            lines.append(f"{key} = {_toml_value(value)}")
    for key, value in table.items():
        if isinstance(value, dict):
            if any(not isinstance(v, dict) for v in value.values()):  # a table of only tables needs no header
                lines += ["", f"[{prefix}{key}]"]
            _emit_table(lines, value, f"{prefix}{key}.")
        elif isinstance(value, list):
            for item in value:
                lines += ["", f"[[{prefix}{key}]]"]
                _emit_table(lines, item, f"{prefix}{key}.")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return json.dumps(str(value))  # a JSON string is a TOML basic string

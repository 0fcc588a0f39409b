"""The external environment's file, read and checked: what each service's URL, address and control URL may be,
the client agent, the enrollment CA, the control token, the services' clock. A mistake is refused with the file
and the key at fault, never the value.

The format is explained key by key in environments/external.example.toml. The file holds no secrets: a
credential is named by the environment variable that carries it, and `read_secret` reads it when it is needed.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from harness.clock.model_clock import ModelClock
from harness.environments.base import CONTROL, FAULTS, ServiceEndpoint
from harness.model.units import Scale

DEFAULT_AGENT_HOST = "clients.harness.example"
# Each service's zone is its role's: clients on the internet never see the site server's names.
SERVICE_ZONES = {"mp": "intranet", "branch_dp": "intranet", "peer": "intranet", "cmg": "internet",
                 "storage": "internet", "clouddp": "internet"}
OPTIONAL_SERVICES = frozenset({"branch_dp", "peer", "clouddp"})
# The services scenarios configure and reset through a control API; all of them must have one for CONTROL.
CONTROLLED = ("mp", "cmg", "clouddp", "storage")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
_DNS_NAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                       r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_CMG_PATH = re.compile(r"^/CCM_Proxy_MutualAuth/[^/]+$")


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

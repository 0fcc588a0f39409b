"""An external environment file for a running emulated environment (local or containers): its services' URLs,
control URLs and network, so the whole suite can run against it through the external environment as if it were
a lab. This is how the external environment is tested, and what `cmg-harness up --write-external FILE` writes.
"""

from __future__ import annotations

import json
import secrets
import shlex
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from harness.clock.model_clock import ModelClock
from harness.environments.base import Endpoints, ServiceEndpoint
from harness.environments.external_config import SERVICE_ZONES

# The variables write_external_file names (a lab's file may name any others).
ENROLLMENT_KEY_ENV = "CMG_HARNESS_ENROLLMENT_KEY"
CONTROL_TOKEN_ENV = "CMG_HARNESS_CONTROL_TOKEN"


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
        "scale": endpoints.scale.factor, "site_code": topology.site_code, "ca": str(endpoints.ca_cert),
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

"""The external environment against a running local environment, described by `write_external_file`: a run
through the external environment's own client agent, its capabilities, its credentials kept out of sight, and a
clean stop."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.drivers.agent import AgentDriver
from harness.drivers.cmg import CmgDriver
from harness.drivers.network import NetworkDriver
from harness.drivers.run import RunResult
from harness.drivers.site import SiteDriver
from harness.environments.base import CONTROL, FAULTS
from harness.environments.external import ExternalEnvironment
from harness.environments.external_writer import CONTROL_TOKEN_ENV, describe, render_toml, write_external_file
from harness.environments.local import LocalEnvironment

RUN_TIMEOUT_S = 120.0
ON_DEMAND = "Download content locally when needed by the running task sequence"


@pytest.fixture(scope="module")
def variables(module_environment: LocalEnvironment, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The file describing the local environment, with its variables set for the module (a control token too,
    which the emulated services ignore, to show that it never leaks)."""
    path = tmp_path_factory.mktemp("external") / "external.toml"
    assignments = write_external_file(module_environment, path, control_token_env=CONTROL_TOKEN_ENV)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (line.split("=", 1) for line in assignments):
            patch.setenv(name, value)
        yield path


@pytest.fixture(scope="module")
def external(variables: Path) -> Iterator[ExternalEnvironment]:
    with ExternalEnvironment(variables) as env:
        yield env


def without_control(local: LocalEnvironment, folder: Path) -> Path:
    """The same services as a real lab would be described: product URLs only."""
    data: dict[str, Any] = describe(local)
    data.pop("network")
    for service in data["services"].values():
        service.pop("control_url")
    path = folder / "lab.toml"
    path.write_text(render_toml(data), encoding="utf-8")
    return path


def seed_site(site: SiteDriver) -> None:
    """One upgrade package, only on the CMG, deployed on demand to internet clients."""
    site.set_serve_content("cmg", True)
    site.set_version(2107)
    site.define_package("PS100011", "Windows 11 upgrade media", "3.2 GB", kind="OS upgrade package")
    site.distribute("PS100011", "cmg")
    site.define_task_sequence("PS100010", "Upgrade to Windows 11", [
        {"name": "Upgrade Operating System", "action": "Upgrade Operating System", "package": "PS100011",
         "duration": "40 minutes"}])
    site.deploy("PS120001", "PS100010", option=ON_DEMAND)


def install(agent: AgentDriver, client: str, site_token: str | None = None) -> RunResult:
    agent.create_client(client, network="internet", site_token=site_token)
    return agent.wait(client, agent.install(client, "PS120001"), RUN_TIMEOUT_S)


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in {"Z", "X"}


def refuses(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_clients_of_the_external_agent_install_over_the_cmg(external: ExternalEnvironment,
                                                            module_environment: LocalEnvironment) -> None:
    external.reset()
    endpoints = external.endpoints
    site = SiteDriver(external.http, endpoints["mp"].control_base)
    agent = AgentDriver(external.http, endpoints["client"].control_base)
    seed_site(site)
    pki, token = install(agent, "CLIENT01"), install(agent, "CLIENT02", site.registration_token("CLIENT02"))
    assert (pki.status, token.status) == ("succeeded", "succeeded"), f"{pki.describe()}\n{token.describe()}"
    assert set(agent.call("GET", "/clients")) == {"CLIENT01", "CLIENT02"}
    local_agent = AgentDriver(module_environment.http, module_environment.endpoints["client"].control_base)
    assert local_agent.call("GET", "/clients") == {}, "the run went through the local environment's own agent"
    manifests = CmgDriver(external.http, endpoints["cmg"].control_base).state()["manifests"]
    assert manifests, "the CMG served no content manifest"


def test_the_endpoints_look_like_the_local_environments(external: ExternalEnvironment,
                                                        module_environment: LocalEnvironment) -> None:
    ours, theirs = external.endpoints, module_environment.endpoints
    assert ours.environment == "external" and ours.scale == theirs.scale == external.model_scale
    assert list(ours.services) == list(theirs.services)
    for name in ("mp", "branch_dp", "peer", "cmg", "storage", "clouddp", "network"):
        assert ours[name] == theirs[name], name
    assert ours["client"].port != theirs["client"].port  # its own agent
    assert ours.extra_hosts == theirs.extra_hosts and external.timings["start_s"] > 0


def test_a_file_with_control_urls_and_the_network_gives_control_and_faults(external: ExternalEnvironment) -> None:
    assert external.capabilities == {CONTROL, FAULTS}
    assert set(external.reset()) == {"client", "site", "cmg", "clouddp", "storage", "network"}
    network = NetworkDriver(external.http, external.endpoints["network"].control_base, external.model_scale)
    network.set_enabled("cmg", False)
    assert external.reset() and network.proxies()["cmg"]["enabled"] is True  # the reset reached the network


def test_a_lab_without_control_urls_runs_clients_but_resets_only_the_agent(
        module_environment: LocalEnvironment, variables: Path, tmp_path: Path) -> None:
    local = module_environment
    local.reset()
    seed_site(SiteDriver(local.http, local.endpoints["mp"].control_base))  # the lab is set up by other means
    with ExternalEnvironment(without_control(local, tmp_path)) as lab:
        assert lab.capabilities == frozenset()
        assert set(lab.reset()) == {"client"}
        assert SiteDriver(local.http, local.endpoints["mp"].control_base).state()["packages"], "reset the site"
        run = install(AgentDriver(lab.http, lab.endpoints["client"].control_base), "CLIENT03")
        assert run.status == "succeeded", run.describe()


def test_no_credential_reaches_the_agent_files_or_reports(external: ExternalEnvironment, variables: Path) -> None:
    token, key_path = os.environ[CONTROL_TOKEN_ENV], os.environ["CMG_HARNESS_ENROLLMENT_KEY"]
    pid, workdir = external.agent_pid, external.workdir
    assert pid is not None and workdir is not None
    texts = {"the agent's environment": Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace"),
             "repr": repr(external), "endpoints": external.endpoints.dumps(), "the file": variables.read_text(),
             **{str(path): path.read_text(errors="replace") for path in workdir.rglob("*") if path.is_file()}}
    # Only where, never what: a failure message must not show the secret either.
    leaks = [f"{what} is in {where}" for where, text in texts.items()
             for what, secret in (("the control token", token), ("the enrollment key's path", key_path))
             if secret in text]
    assert not leaks, leaks


def test_down_leaves_no_process_and_no_folder(variables: Path) -> None:
    env = ExternalEnvironment(variables)
    env.up()
    pid, port, workdir = env.agent_pid, env.endpoints["client"].port, env.workdir
    assert pid is not None and workdir is not None and workdir.is_dir() and not gone(pid)
    env.down()
    deadline = time.monotonic() + 5
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gone(pid) and refuses(port) and not workdir.exists()
    env.down()  # again: nothing left to do
    with pytest.raises(RuntimeError, match="not up"):
        _ = env.endpoints

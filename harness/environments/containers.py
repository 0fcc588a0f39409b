"""The `containers` environment: every service in a container of its own, started with testcontainers.

The services are the same as in `local`, with the same configurations, so scenarios cannot tell the two
apart except by `Endpoints.environment`. What differs is how they run:

- Host networking, every service bound to 127.0.0.1 (these machines allow no other address; Docker's bridge
  network is not used). Ports are reserved here before any container starts (outside the kernel's ephemeral
  range and locked against other harness processes, see harness/net/ports.py), so all of them start at once
  and the start takes about as long as the slowest one, not the sum.
- The working folder (certificates, configurations, the clients' disks) is bind-mounted at the same path in
  every container, so the paths in the configurations hold inside and out. Containers run as the caller's
  user, so everything they write can be removed afterwards.
- Ready means the service's `/_harness/health` answers over TLS checked against the test CA (a
  testcontainers wait strategy); Azurite is ready when it answers HTTPS at all.
- Clean-up: every container is labelled with the environment's id and the owner's pid. `down()` removes them;
  a reaper process (harness/environments/reaper.py) removes them if the harness dies first; and every start
  removes containers whose owner is no longer running (a reaper killed along with its harness).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import ssl
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HttpWaitStrategy

from harness.environments.azurite import azurite_accounts_value, generate_account_key
from harness.environments.base import Endpoints
from harness.environments.docker_engine import EngineUnavailable, open_engine
from harness.environments.emulated import PROXIED, PYTHON_SERVICES, START_TIMEOUT, EmulatedEnvironment
from harness.environments.reaper import Reaper, list_labelled, remove_labelled
from harness.net.http import make_client
from harness.net.ports import PortReservation
from harness.net.tls import TestPKI
from harness.service.configs import Listener, Proxy, ServiceConfig

log = logging.getLogger("cmg_harness.environment")

LABEL_ENVIRONMENT = "org.cmg-harness.environment"
LABEL_OWNER = "org.cmg-harness.owner"  # <hostname>:<pid> of the process that started the container
LABEL_SERVICE = "org.cmg-harness.service"
AZURITE = "azurite"
_STOP_WORKERS = 8


class ContainerStartError(RuntimeError):
    """A container that exited or never became ready, with the end of its output."""


@dataclass
class ContainersEnvironment(EmulatedEnvironment):
    name: str = "containers"
    base_image: str | None = None  # for images that must be built first (see harness/environments/images.py)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.id = uuid.uuid4().hex[:12]
        self._containers: dict[str, Any] = {}  # service -> testcontainers DockerContainer
        self._reaper: Reaper | None = None
        self._ports: PortReservation | None = None

    # -- up ------------------------------------------------------------------------------------

    def _start(self) -> Endpoints:
        docker_client = _docker()
        try:
            _remove_orphans(docker_client)
        finally:
            docker_client.close()
        images = self._images()
        workdir = self._new_workdir("cmg-harness-containers-")
        topo = self.topology
        pki = TestPKI.create(workdir / "pki")
        # Held until down(): the containers bind these ports seconds from now (see harness/net/ports.py).
        self._ports = PortReservation([*PYTHON_SERVICES, AZURITE, *(f"public:{name}" for name in PROXIED),
                                       "authority"])
        chosen = self._ports.ports
        ports = {name: chosen[name] for name in [*PYTHON_SERVICES, AZURITE]}
        public = {name: chosen[f"public:{name}"] for name in PROXIED}
        keys = {topo.cmg_account: generate_account_key(), topo.clouddp_account: generate_account_key()}
        endpoints = self.endpoints_for({n: ports[n] for n in PYTHON_SERVICES}, pki.ca_cert_path, public=public)
        virtual = self.clock_mode == "virtual"
        configs = self.service_configs(endpoints, pki, workdir, keys, azurite_port=ports[AZURITE],
                                       authority_port=chosen["authority"] if virtual else None)
        configs = configs.with_network(
            authority=Listener(listen=f"127.0.0.1:{chosen['authority']}") if virtual else None,
            proxies=[Proxy(name=name, upstream=f"127.0.0.1:{ports[name]}", listen=f"127.0.0.1:{public[name]}")
                          for name in PROXIED])
        self._reaper = Reaper(f"{LABEL_ENVIRONMENT}={self.id}", workdir=None if self.keep_workdir else workdir)
        self._reaper.start()
        specs = {name: self._service_spec(name, images[name], ports[name], configs[name], workdir)
                 for name in PYTHON_SERVICES}
        specs[AZURITE] = self._azurite_spec(images[AZURITE], ports[AZURITE], pki, keys, workdir)
        self._start_all(specs, pki.ca_cert_path)
        self._http = make_client(endpoints.hosts(), pki.ca_cert_path, timeout=30.0)
        return endpoints

    def _images(self) -> dict[str, str]:
        from harness.environments.images import ensure_images  # builds what the current sources lack
        started = time.perf_counter()
        images = ensure_images(base_image=self.base_image, progress=lambda text: log.info("images: %s", text))
        self.timings["images_s"] = time.perf_counter() - started
        return images

    def _service_spec(self, service: str, image: str, port: int, config: ServiceConfig,
                      workdir: Path) -> ContainerSpec:
        path = workdir / "config" / f"{service}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(config.to_json()), encoding="utf-8")
        path.chmod(0o600)  # it holds the site's signing key and the storage account keys
        return ContainerSpec(service, image, ["--port", str(port), "--config", str(path)], port,
                             env={"HARNESS_PORT": str(port), "HARNESS_CA": str(config.ca_path)},
                             health_path="/_harness/health")

    def _azurite_spec(self, image: str, port: int, pki: TestPKI, keys: dict[str, str],
                      workdir: Path) -> ContainerSpec:
        topo = self.topology
        cert = pki.issue_server_cert("azurite", [f"*.{topo.blob_suffix}", topo.account_host(topo.cmg_account),
                                                 "127.0.0.1"])
        args = ["--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence", "--disableTelemetry",
                "--skipApiVersionCheck", "--loose", "--cert", str(cert.cert_path), "--key", str(cert.key_path)]
        return ContainerSpec(AZURITE, image, args, port,
                             env={"HARNESS_PORT": str(port), "AZURITE_ACCOUNTS": azurite_accounts_value(keys)},
                             health_path="/")

    def _start_all(self, specs: dict[str, ContainerSpec], ca: Path) -> None:
        """All containers at once; each waits for its own health. The first failure stops the start."""
        with ThreadPoolExecutor(len(specs)) as pool:
            futures = {name: pool.submit(self._start_one, spec, ca) for name, spec in specs.items()}
            errors = []
            for name, future in futures.items():
                try:
                    self.timings[f"{name}_ready_s"] = future.result()
                except Exception as error:  # every container's fate is reported, not just the first
                    errors.append(f"{name}: {error}")
        if errors:
            raise ContainerStartError("containers did not start:\n" + "\n".join(errors))

    def _start_one(self, spec: ContainerSpec, ca: Path) -> float:
        started = time.perf_counter()
        container = (DockerContainer(spec.image)
                     .with_command(spec.args)
                     .waiting_for(LoopbackHealthWait(spec.port, spec.health_path, ca)
                                  .with_startup_timeout(int(START_TIMEOUT)).with_poll_interval(0.1)))
        for key, value in spec.env.items():
            container.with_env(key, value)
        workdir = str(self._workdir)
        container.with_volume_mapping(workdir, workdir, "rw")
        # One call: with_kwargs replaces what an earlier call set (testcontainers 4.15).
        container.with_kwargs(network_mode="host", user=f"{os.getuid()}:{os.getgid()}",
                              labels={LABEL_ENVIRONMENT: self.id, LABEL_OWNER: _owner(), LABEL_SERVICE: spec.name})
        self._containers[spec.name] = container
        container.start()
        return time.perf_counter() - started

    # -- down ----------------------------------------------------------------------------------

    def _stop_services(self) -> None:
        containers, self._containers = self._containers, {}
        if self._workdir is not None and self.keep_workdir:
            _save_logs(containers, self._workdir / "logs")
        with ThreadPoolExecutor(_STOP_WORKERS) as pool:
            list(pool.map(_remove, containers.values()))
        if self._reaper is not None:
            self._reaper.release()
            self._reaper = None
        if self._ports is not None:
            self._ports.release()
            self._ports = None


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    args: list[str]
    port: int
    env: dict[str, str]
    health_path: str


class LoopbackHealthWait(HttpWaitStrategy):
    """testcontainers' HTTP wait, aimed at 127.0.0.1:<port> (host networking maps no ports), over TLS checked
    against the test CA, and failing at once with the container's output when the container exits."""

    def __init__(self, port: int, path: str, ca: Path) -> None:
        super().__init__(port, path)
        self._ca = ca
        self.using_tls()
        self.for_status_code_matching(lambda status: status < 500 if path == "/" else status == 200)

    def _setup_ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self._ca))

    def _build_url(self, container: Any) -> str:
        return f"https://127.0.0.1:{self._port}{self._path}"

    def wait_until_ready(self, container: Any) -> None:
        url, context, headers = self._build_url(container), self._setup_ssl_context(), self._setup_headers()
        deadline = time.monotonic() + self._startup_timeout
        while not self._try_http_request(url, headers, context):
            wrapped = container.get_wrapped_container()
            wrapped.reload()
            if wrapped.status in ("exited", "dead"):
                raise ContainerStartError(f"exited before {url} answered; its output:\n{_tail(wrapped)}")
            if time.monotonic() > deadline:
                raise ContainerStartError(f"{url} did not answer within {self._startup_timeout:g} s; its output:\n"
                                          f"{_tail(wrapped)}")
            time.sleep(self._poll_interval)


def _docker() -> Any:
    """The Docker engine, or a clear error saying how to get one."""
    try:
        client = open_engine()
    except EngineUnavailable as error:
        raise RuntimeError(f"the containers environment needs a running Docker engine ({error}); start dockerd, "
                           "or use --env local") from None
    _configure_testcontainers(client)
    return client


def _configure_testcontainers(client: Any) -> None:
    """Ryuk only where it can work: its image present (it cannot be pulled without a registry) and a bridge
    network to publish its port on (an engine started for host networking only has none). The harness's own
    reaper does its job in any case."""
    from testcontainers.core.config import testcontainers_config
    try:
        client.images.get(testcontainers_config.ryuk_image)
        usable = bool(client.networks.list(names=["bridge"]))
    except Exception:
        usable = False
    if not usable:
        testcontainers_config.ryuk_disabled = True


def _remove_orphans(client: Any) -> None:
    """Containers of a harness on this host that is no longer running (killed along with its reaper)."""
    host = socket.gethostname()
    for container in list_labelled(client, LABEL_OWNER):
        owner_host, _, pid = container.labels.get(LABEL_OWNER, "").rpartition(":")
        if owner_host == host and pid.isdigit() and not _running(int(pid)):
            log.warning("removing container %s left by harness process %s", container.name, pid)
            environment = container.labels.get(LABEL_ENVIRONMENT)
            if environment:
                remove_labelled(client, f"{LABEL_ENVIRONMENT}={environment}")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _remove(container: Any) -> None:
    with contextlib.suppress(Exception):  # already gone: removed by hand, or its start failed
        container.stop()


def _tail(wrapped: Any, lines: int = 20) -> str:
    try:
        text = wrapped.logs(tail=lines).decode("utf-8", "replace")
    except Exception as error:
        return f"  (no output: {error})"
    return "\n".join(f"  | {line}" for line in text.splitlines()) or "  (no output)"


def _save_logs(containers: dict[str, Any], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, container in containers.items():
        with contextlib.suppress(Exception):
            stdout, stderr = container.get_logs()
            (folder / f"{name}.log").write_bytes(stdout + stderr)

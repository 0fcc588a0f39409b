"""The images really build from the current sources (no network in the build), and each one starts with a real
configuration, answers on 127.0.0.1 with host networking, and goes healthy by its own HEALTHCHECK."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

docker = pytest.importorskip("docker", reason="the docker SDK comes with testcontainers: pip install -e .[dev]")

from harness.environments import images  # noqa: E402
from harness.environments.azurite import azurite_accounts_value, generate_account_key  # noqa: E402
from harness.environments.emulated import START_TIMEOUT  # noqa: E402
from harness.environments.image_engine import Engine  # noqa: E402
from harness.environments.image_names import (  # noqa: E402
    AZURITE,
    LABEL_SERVICE,
    LABEL_TAG,
    SERVICES,
    ImageError,
    image_tag,
)
from harness.environments.local import PROXIED, LocalEnvironment  # noqa: E402
from harness.net.ports import PortReservation  # noqa: E402
from harness.net.tls import TestPKI  # noqa: E402
from harness.service.healthcheck import Unhealthy, probe  # noqa: E402

pytestmark = [pytest.mark.containers, pytest.mark.slow]

BUILD_TIMEOUT_NOTE = "the first build takes a minute or two (wheels, npm, two Docker builds)"
# As long as the containers environment gives a service to start. Azurite needs about 0.8 s of CPU to listen;
# with the load average at 15 on these 2 cores (four suites at once) that was 10-17 s of wall time, and one start
# in a run of ten passed 30 s.
ANSWER_TIMEOUT_S = START_TIMEOUT
HEALTHY_TIMEOUT_S = 30.0
# The images probe every 30 s (cheap over a session); here every second, with the images' own probe command.
PROBE_INTERVAL_NS = 1_000_000_000
LABEL_TEST = "org.cmg-harness.test"


@pytest.fixture(scope="module")
def built(engine: Any) -> dict[str, str]:
    """Every image of the current sources ({BUILD_TIMEOUT_NOTE}); skips when no base image can be had."""
    try:
        images.choose_base_images(Engine(engine), progress=print)
    except ImageError as error:
        pytest.skip(str(error))
    return images.ensure_images(progress=print)


@pytest.fixture
def ports() -> Iterator[dict[str, int]]:
    """A port for every service, held until the containers (set up after this) are removed."""
    with PortReservation([*SERVICES, AZURITE, *(f"public:{name}" for name in PROXIED)]) as reservation:
        yield reservation.ports


@pytest.fixture
def run(engine: Any, tmp_path: Path) -> Iterator[Any]:
    """run(image, args, env): a detached container on the host's network, as the caller's user, with tmp_path
    mounted at the same path, probed every second; removed afterwards."""
    started: list[Any] = []

    def start(image: str, args: list[str], env: dict[str, str]) -> Any:
        container = engine.containers.run(image, args, detach=True, network_mode="host", environment=env,
                                          user=f"{os.getuid()}:{os.getgid()}", labels={LABEL_TEST: "images"},
                                          healthcheck={"interval": PROBE_INTERVAL_NS},
                                          volumes={str(tmp_path): {"bind": str(tmp_path), "mode": "rw"}})
        started.append(container)
        return container

    yield start
    for container in started:
        container.remove(force=True)


def test_every_image_is_of_the_current_sources_with_its_entrypoint_and_healthcheck(built: dict[str, str],
                                                                                   engine: Any) -> None:
    tag = image_tag()
    assert built == {service: f"cmg-harness/{service}:{tag}" for service in (*SERVICES, AZURITE)}
    for service in SERVICES:
        config = engine.images.get(built[service]).attrs["Config"]
        assert config["Entrypoint"] == ["/opt/harness/bin/python", "-m", "harness.service.serve", service]
        assert config["Healthcheck"]["Test"] == ["CMD", "/opt/harness/bin/python", "-m",
                                                 "harness.service.healthcheck"]
        assert config["Healthcheck"]["Interval"] == 30_000_000_000
        assert config["Labels"][LABEL_SERVICE] == service
        assert config["Labels"][LABEL_TAG] == tag
    config = engine.images.get(built[AZURITE]).attrs["Config"]
    assert config["Entrypoint"] == ["/opt/azurite/node_modules/.bin/azurite-blob"]
    assert config["Healthcheck"]["Test"][:2] == ["CMD", "node"]


def test_a_second_call_builds_nothing(built: dict[str, str]) -> None:
    said: list[str] = []
    assert images.ensure_images(progress=said.append) == built
    assert not [line for line in said if line.startswith(("building", "tagged"))]


def test_every_service_starts_from_its_image_answers_and_goes_healthy(built: dict[str, str],
                                                                      ports: dict[str, int], run: Any,
                                                                      tmp_path: Path) -> None:
    pki = TestPKI.create(tmp_path / "pki")
    arguments = _arguments(ports, pki, tmp_path)  # every file written before any container starts reading them
    containers = {name: run(built[name], *arguments[name]) for name in (*SERVICES, AZURITE)}
    with ThreadPoolExecutor(len(containers)) as pool:
        waits = {name: pool.submit(_wait_for_answer, name, container, ports[name], pki)
                 for name, container in containers.items()}
    answered = {name: wait.result() for name, wait in waits.items()}
    print("answered after (s):", {name: round(seconds, 2) for name, seconds in answered.items()})
    for name, container in containers.items():
        _wait_for_healthy(name, container)


def _arguments(ports: dict[str, int], pki: TestPKI, workdir: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each container's arguments and environment. The configs are made once: making them issues every service's
    certificate afresh, and a container that started reading its key meanwhile would read another one."""
    env = LocalEnvironment()
    topo = env.topology
    keys = {topo.cmg_account: generate_account_key(), topo.clouddp_account: generate_account_key()}
    cert = pki.issue_server_cert("azurite", [f"*.{topo.blob_suffix}", "127.0.0.1"])
    arguments = {AZURITE: (["--blobHost", "127.0.0.1", "--blobPort", str(ports[AZURITE]), "--inMemoryPersistence",
                            "--disableTelemetry", "--skipApiVersionCheck", "--loose", "--cert", str(cert.cert_path),
                            "--key", str(cert.key_path)],
                           {"HARNESS_PORT": str(ports[AZURITE]), "AZURITE_ACCOUNTS": azurite_accounts_value(keys)})}
    public = {proxied: ports[f"public:{proxied}"] for proxied in PROXIED}
    endpoints = env.endpoints_for({service: ports[service] for service in SERVICES}, pki.ca_cert_path, public=public)
    configs = env.service_configs(endpoints, pki, workdir, keys, azurite_port=ports[AZURITE])
    for name in SERVICES:
        path = workdir / f"{name}.json"
        path.write_text(json.dumps(configs[name].to_json()), encoding="utf-8")
        arguments[name] = (["--port", str(ports[name]), "--config", str(path)],
                           {"HARNESS_PORT": str(ports[name]), "HARNESS_CA": str(pki.ca_cert_path)})
    return arguments


def _wait_for_answer(name: str, container: Any, port: int, pki: TestPKI) -> float:
    """Seconds until the service answers; fails at once, with its output, if the container stops first."""
    started = time.perf_counter()
    while time.perf_counter() - started < ANSWER_TIMEOUT_S:
        if _answers(name, port, pki):
            return time.perf_counter() - started
        container.reload()
        assert container.status == "running", f"{name} stopped before answering: {_described(container)}"
        time.sleep(0.05)
    raise AssertionError(f"{name} did not answer on 127.0.0.1:{port} within {ANSWER_TIMEOUT_S:g} s: "
                         f"{_described(container)}")


def _described(container: Any) -> str:
    state = container.attrs["State"]
    return (f"status {state.get('Status')}, exit code {state.get('ExitCode')}, error {state.get('Error')!r}; "
            f"its output:\n{container.logs().decode(errors='replace')[-2000:]}")


def _answers(name: str, port: int, pki: TestPKI) -> bool:
    if name == AZURITE:  # its own health is a TCP connection; the harness's is an HTTPS answer
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return False
        return True
    try:
        probe(port, str(pki.ca_cert_path), timeout=0.5)
    except Unhealthy:
        return False
    return True


def _wait_for_healthy(name: str, container: Any) -> None:
    deadline = time.monotonic() + HEALTHY_TIMEOUT_S
    while time.monotonic() < deadline:
        container.reload()
        health = container.attrs["State"].get("Health") or {}
        if health.get("Status") == "healthy":
            return
        assert container.status == "running", f"{name} stopped: {_described(container)}"
        assert health.get("Status") != "unhealthy", f"{name} is unhealthy: {health.get('Log')}"
        time.sleep(0.2)
    raise AssertionError(f"{name} was not healthy within {HEALTHY_TIMEOUT_S:g} s: {health}")

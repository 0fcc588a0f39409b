"""No container of the harness outlives its runner: Ctrl+C, SIGKILL (the reaper), and SIGKILL of the runner and
its reaper both (the next start removes what they left)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

docker = pytest.importorskip("docker", reason="the docker SDK comes with testcontainers: pip install -e .[dev]")

from harness.environments.containers import LABEL_ENVIRONMENT, LABEL_OWNER, ContainersEnvironment  # noqa: E402
from harness.environments.reaper import list_labelled  # noqa: E402

pytestmark = pytest.mark.containers

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "containers" / "hold_environment.py"
SERVICES = 7  # six emulators and Azurite
UP_TIMEOUT_S = 240.0  # the first start may build the images
GONE_TIMEOUT_S = 20.0


def harness_containers(client: Any, environment: str | None = None) -> list[Any]:
    label = LABEL_ENVIRONMENT if environment is None else f"{LABEL_ENVIRONMENT}={environment}"
    return list_labelled(client, label)


def environments_started_by(client: Any, pid: int) -> set[str]:
    """The environments whose containers that process started: other suites on the machine start their own."""
    owner = f"{socket.gethostname()}:{pid}"
    return {c.labels[LABEL_ENVIRONMENT] for c in harness_containers(client) if c.labels.get(LABEL_OWNER) == owner}


@dataclass
class Runner:
    process: subprocess.Popen[str]
    environment: str  # the id its containers are labelled with
    workdir: Path  # its working folder, bind-mounted into the containers

    @property
    def pid(self) -> int:
        return self.process.pid


@pytest.fixture
def runner(engine: Any) -> Iterator[Runner]:
    """pytest holding a containers environment, in a process group of its own (a terminal's foreground job)."""
    process = subprocess.Popen([sys.executable, "-m", "pytest", str(RUNNER), "--env", "containers", "-s", "-q",
                                "-p", "no:cacheprovider"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_for_hold(process)
        new = environments_started_by(engine, process.pid)
        assert len(new) == 1, f"expected one environment started by the runner, found {new}"
        environment = new.pop()
        containers = harness_containers(engine, environment)
        assert len(containers) == SERVICES
        yield Runner(process, environment, _workdir(containers))
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        assert process.stdout is not None
        process.stdout.close()


def _workdir(containers: list[Any]) -> Path:
    """The environment's working folder: the one its containers' bind mounts all come from."""
    sources = {Path(m["Source"]) for c in containers for m in c.attrs.get("Mounts", []) if m.get("Type") == "bind"}
    folders = {next(p for p in (s, *s.parents) if p.name.startswith("cmg-harness-containers-")) for s in sources
               if any(p.name.startswith("cmg-harness-containers-") for p in (s, *s.parents))}
    assert len(folders) == 1, f"expected one working folder behind the bind mounts, found {folders}"
    return folders.pop()


def wait_for_hold(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + UP_TIMEOUT_S
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "HELD containers" in line:
            return
        if time.monotonic() > deadline:
            break
    pytest.fail("the runner did not bring the environment up:\n" + "".join(seen[-30:]))


def wait_until_gone(client: Any, environment: str) -> list[Any]:
    deadline = time.monotonic() + GONE_TIMEOUT_S
    while (left := harness_containers(client, environment)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def test_ctrl_c_stops_the_run_and_removes_every_container(engine: Any,
                                                          runner: Runner) -> None:
    os.killpg(runner.pid, signal.SIGINT)
    output, _ = runner.process.communicate(timeout=60)
    assert runner.process.returncode != 0, f"the run was not interrupted:\n{output}"
    left = wait_until_gone(engine, runner.environment)
    assert left == [], f"left behind: {[c.name for c in left]}; the runner said:\n{output}"


def test_a_killed_runner_leaves_its_reaper_to_remove_the_containers(engine: Any,
                                                                   runner: Runner) -> None:
    assert runner.workdir.is_dir()
    os.killpg(runner.pid, signal.SIGKILL)
    runner.process.wait(10)
    assert wait_until_gone(engine, runner.environment) == []
    assert not runner.workdir.exists(), f"the killed runner's working folder {runner.workdir} is left behind"


def test_containers_left_by_a_runner_killed_with_its_reaper_are_removed_by_the_next_start(
        engine: Any, runner: Runner) -> None:
    environment = runner.environment
    reaper = subprocess.run(["pgrep", "-f", f"harness.environments.reaper {LABEL_ENVIRONMENT}={environment}"],
                            capture_output=True, text=True, check=False).stdout.split()
    assert len(reaper) == 1, f"expected the environment's reaper, found {reaper}"
    os.kill(int(reaper[0]), signal.SIGKILL)
    os.killpg(runner.pid, signal.SIGKILL)
    runner.process.wait(10)
    time.sleep(1.0)
    assert len(harness_containers(engine, environment)) == SERVICES, "nothing else should have removed them yet"
    with ContainersEnvironment():
        pass
    assert harness_containers(engine, environment) == []

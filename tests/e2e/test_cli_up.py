"""`cmg-harness up --json`: the printed endpoints work over HTTPS, and SIGINT/SIGTERM leave nothing behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.net.http import make_client

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_SERVICES = {"mp", "branch_dp", "peer", "cmg", "clouddp", "storage", "client", "network"}


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        for child in map(int, children):
            found |= {child} | descendants(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's bookkeeping is left


@pytest.fixture
def environment_process() -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "up", "--json"], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)
    assert proc.stdout is not None
    proc.stdout.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_up_prints_endpoints_serves_https_and_stops_everything(environment_process: subprocess.Popen[str],
                                                               signum: int) -> None:
    assert environment_process.stdout is not None
    data = json.loads(environment_process.stdout.readline())
    assert data["environment"] == "local" and set(data["services"]) == EXPECTED_SERVICES
    cmg = data["services"]["cmg"]
    assert "/CCM_Proxy_MutualAuth/" in cmg["url"] and cmg["address"].startswith("127.0.0.1:")
    hosts = {s["hostname"]: "127.0.0.1" for s in data["services"].values()}
    with make_client(hosts, Path(data["ca_cert"]), timeout=10) as http:
        base = cmg["url"].split("/CCM_Proxy")[0]
        assert http.get(f"{base}/_harness/health").json()["status"] == "healthy"
    children = descendants(environment_process.pid)
    assert len(children) >= 6, "expected the site, CMG, cloud DP, client agent, network and Azurite processes"

    environment_process.send_signal(signum)
    assert environment_process.wait(20) == 0
    deadline = time.monotonic() + 5
    while any(alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in children if alive(p)], "processes of the environment survived the stop"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_reaches_the_cmg_health_endpoint_by_name(environment_process: subprocess.Popen[str]) -> None:
    assert environment_process.stdout is not None
    data = json.loads(environment_process.stdout.readline())
    cmg = data["services"]["cmg"]
    host, port = cmg["hostname"], cmg["address"].split(":")[1]
    out = subprocess.run(["curl", "-sS", "--fail", "--cacert", data["ca_cert"], "--resolve", f"{host}:{port}:127.0.0.1",
                          f"https://{host}:{port}/_harness/health"], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["service"] == "cmg"
    os.kill(environment_process.pid, signal.SIGINT)
    assert environment_process.wait(20) == 0

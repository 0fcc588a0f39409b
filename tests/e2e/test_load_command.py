"""`cmg-harness load` against an external environment (a running local one, described by its file): token clients
where there is a control API, PKI clients with the enrollment CA and a named package on a lab without one, and
the bounds and mistakes it refuses before starting anything."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from harness.drivers.site import SiteDriver
from harness.environments.external_writer import describe, render_toml, write_external_file
from harness.environments.local import PROJECT_ROOT, LocalEnvironment
from harness.load.prepare import PACKAGE, deploy_package
from harness.load.runner import read_figures

pytestmark = pytest.mark.load


def _load(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", "load", *args], cwd=PROJECT_ROOT,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=240,
                          check=False)


def _variables(assignments: list[str]) -> dict[str, str]:
    return {name: shlex.split(value)[0] for name, value in (line.split("=", 1) for line in assignments)}


def _flows(reports: Path) -> tuple[int, int]:
    flows = next(row for row in read_figures(reports / "load.json") if row.kind == "FLOW")
    return flows.requests, flows.failures


def test_token_clients_load_an_external_environment_with_a_control_api(module_environment: LocalEnvironment,
                                                                       tmp_path: Path) -> None:
    file = tmp_path / "external.toml"
    variables = _variables(write_external_file(module_environment, file))
    done = _load(["--env", f"external={file}", "--users", "4", "--spawn-rate", "4", "--seconds", "3",
                  "--reports", str(tmp_path / "load")], variables)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    requests, failures = _flows(tmp_path / "load")
    assert requests >= 4 and failures == 0
    assert (tmp_path / "load" / "load.html").is_file()
    assert "client flows:" in done.stdout


def test_pki_clients_load_a_lab_without_a_control_api(module_environment: LocalEnvironment, tmp_path: Path) -> None:
    site = SiteDriver(module_environment.http, module_environment.endpoints["mp"].control_base)
    deploy_package(site, "100 MB")  # what the lab's administrator would have done
    data = describe(module_environment)
    pki = Path(data.pop("enrollment")["cert"]).parent  # the lab's own enrollment CA, handed to the load alone
    data.pop("network")
    for service in data["services"].values():
        service.pop("control_url")
    lab = tmp_path / "lab.toml"
    lab.write_text(render_toml(data), encoding="utf-8")
    done = _load(["--env", f"external={lab}", "--users", "3", "--spawn-rate", "3", "--seconds", "3",
                  "--package", PACKAGE, "--enrollment-cert", str(pki / "enrollment-ca.pem"),
                  "--enrollment-key", str(pki / "enrollment-ca.key"), "--reports", str(tmp_path / "load")])
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    requests, failures = _flows(tmp_path / "load")
    assert requests >= 3 and failures == 0


@pytest.mark.parametrize(("args", "words"), [
    (["--users", "0"], "0 users: a load has 1 to 10000"),
    (["--seconds", "7200"], "7200 s: a load lasts 1 to 3600 s"),
    (["--write-target", "t.json"], "--write-target is for an external environment"),
    (["--enrollment-cert", "ca.pem"], "--enrollment-cert and --enrollment-key go together"),
    (["--env", "external=/nonexistent.toml"], "/nonexistent.toml"),
], ids=["no-users", "too-long", "target-of-local", "half-enrollment", "missing-file"])
def test_what_cannot_be_loaded_is_refused_naming_it(args: list[str], words: str, tmp_path: Path) -> None:
    done = _load([*args, "--reports", str(tmp_path)])
    assert done.returncode == 2 and words in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr

"""The reaper removes an environment's containers when its harness goes, and only those (a fake Docker client)."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest

from harness.environments import reaper


@dataclass
class FakeContainer:
    name: str
    labels: dict[str, str]
    removed: bool = False
    gone: bool = False

    def remove(self, force: bool = False, v: bool = False) -> None:
        assert force, "a running container is only removed with force"
        if self.gone:
            raise docker.errors.NotFound(f"{self.name} is gone")
        self.removed = True


@dataclass
class FakeContainers:
    items: list[FakeContainer] = field(default_factory=list)
    filters_seen: list[dict[str, Any]] = field(default_factory=list)

    def list(self, all: bool = False, filters: dict[str, Any] | None = None) -> list[FakeContainer]:
        assert all, "stopped containers must be found too"
        self.filters_seen.append(filters or {})
        key, _, value = (filters or {})["label"].partition("=")
        return [c for c in self.items if c.labels.get(key) == value]


@dataclass
class FakeClient:
    containers: FakeContainers


def test_only_the_labelled_containers_are_removed() -> None:
    mine = [FakeContainer("site", {"env": "a"}), FakeContainer("cmg", {"env": "a"})]
    other = FakeContainer("site-b", {"env": "b"})
    client = FakeClient(FakeContainers([*mine, other]))
    assert reaper.remove_labelled(client, "env=a") == ["site", "cmg"]
    assert all(c.removed for c in mine) and not other.removed


def test_a_container_removed_meanwhile_is_not_an_error() -> None:
    client = FakeClient(FakeContainers([FakeContainer("site", {"env": "a"}, gone=True),
                                        FakeContainer("cmg", {"env": "a"})]))
    assert reaper.remove_labelled(client, "env=a") == ["cmg"]


def test_the_reaper_waits_for_end_of_file_then_reaps(monkeypatch: pytest.MonkeyPatch) -> None:
    container = FakeContainer("site", {"env": "a"})
    monkeypatch.setattr(reaper.docker, "from_env", lambda: FakeClient(FakeContainers([container])))
    monkeypatch.setattr(reaper.sys, "stdin", io.TextIOWrapper(io.BytesIO(b"still here\n")))
    assert reaper.main(["env=a"]) == 0
    assert container.removed


def test_the_reaper_removes_the_working_folder_it_was_given(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    """A killed harness cannot remove its folder; the reaper does, even when the engine does not answer."""
    workdir = tmp_path / "cmg-harness-containers-x"
    (workdir / "pki").mkdir(parents=True)
    (workdir / "pki" / "ca.pem").write_text("-----BEGIN CERTIFICATE-----")

    def no_engine() -> None:
        raise reaper.docker.errors.DockerException("no engine here")

    monkeypatch.setattr(reaper.docker, "from_env", no_engine)
    monkeypatch.setattr(reaper.sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert reaper.main(["env=a", "--workdir", str(workdir)]) == 1  # the containers could not be removed
    assert not workdir.exists()


def test_a_bad_label_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert reaper.main(["no-equals-sign"]) == 2
    assert "LABEL=VALUE" in capsys.readouterr().err


def test_the_reaper_outlives_a_sigint_to_its_parent_group() -> None:
    """It runs in a session of its own and ignores SIGINT: Ctrl+C must not take it down before it reaped."""
    handle = reaper.Reaper("org.cmg-harness.environment=none-such")
    handle.start()
    process = handle._process
    assert process is not None
    try:
        assert subprocess.run(["ps", "-o", "sid=", "-p", str(process.pid)], capture_output=True, text=True,
                              check=True).stdout.strip() == str(process.pid)
        assert process.poll() is None
    finally:
        handle.release()
    assert process.returncode is not None


def test_release_without_start_does_nothing() -> None:
    reaper.Reaper("a=b").release()


if sys.platform != "linux":  # pragma: no cover
    pytestmark = pytest.mark.skip(reason="process sessions as on Linux")


def test_a_listing_that_races_a_removal_is_taken_again() -> None:
    """docker's list inspects each container it found: one removed meanwhile raises NotFound."""

    class Racing(FakeContainers):
        calls = 0

        def list(self, all: bool = False, filters: dict[str, Any] | None = None) -> list[FakeContainer]:
            self.calls += 1
            if self.calls == 1:
                raise docker.errors.NotFound("No such container: 9e70")
            return super().list(all, filters)

    containers = Racing([FakeContainer("site", {"env": "a"})])
    assert [c.name for c in reaper.list_labelled(FakeClient(containers), "env=a")] == ["site"]
    assert containers.calls == 2

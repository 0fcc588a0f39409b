"""The offline base's helpers without debootstrap or a Docker engine: the mirror apt uses, debootstrap's
progress, the trimmed root file system, and what making the base needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.environments import offline_base
from harness.environments.image_names import ImageError
from harness.environments.offline_base import PhaseReporter, debian_mirror, trim_rootfs
from tests.unit.environments.images_helpers import folder, silent


def test_the_mirror_is_the_one_apt_uses_for_bookworm(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\nURIs: http://mirror.example/debian/\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\nComponents: main\n")
    (tmp_path / "sources.list.d" / "nodesource.list").write_text("deb [arch=amd64] https://deb.nodesource.com x main\n")
    assert debian_mirror(tmp_path) == "http://mirror.example/debian"


def test_a_one_line_source_list_works_and_nothing_means_deb_debian_org(tmp_path: Path) -> None:
    assert debian_mirror(tmp_path) == "http://deb.debian.org/debian"
    (tmp_path / "sources.list").write_text("# deb http://old.example/debian bookworm main\n"
                                           "deb [signed-by=/k.gpg] https://near.example/debian bookworm main\n")
    assert debian_mirror(tmp_path) == "https://near.example/debian"


def test_debootstrap_progress_names_each_phase_once() -> None:
    said: list[str] = []
    phases = PhaseReporter(said.append)
    for line in ["I: Retrieving InRelease", "I: Retrieving libc6 2.36", "I: Validating libc6 2.36",
                 "I: Retrieving zlib1g", "W: Cannot check Release signature", "I: Extracting adduser...",
                 "I: Base system installed successfully."]:
        phases.feed(line)
    assert said == ["debootstrap: Retrieving InRelease", "debootstrap: Validating libc6 2.36",
                    "debootstrap: W: Cannot check Release signature", "debootstrap: Extracting adduser...",
                    "debootstrap: Base system installed successfully."]


def test_the_root_file_system_is_trimmed_but_keeps_licences_and_apt_folders(tmp_path: Path) -> None:
    files = ["usr/share/doc/bash/copyright", "usr/share/doc/bash/README.gz", "usr/share/man/man1/ls.1.gz",
             "usr/share/locale/de/LC_MESSAGES/dpkg.mo", "var/lib/apt/lists/deb.debian.org_InRelease",
             "var/cache/apt/pkgcache.bin", "var/log/dpkg.log", "etc/resolv.conf", "usr/bin/python3.11",
             "var/cache/debconf/config.dat"]
    folder(tmp_path, dict.fromkeys(files, "x"))
    (tmp_path / "var/cache/apt/archives/partial").mkdir(parents=True)
    trim_rootfs(tmp_path)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["etc/dpkg/dpkg.cfg.d/cmg-harness-slim", "usr/bin/python3.11", "usr/share/doc/bash/copyright",
                    "var/cache/debconf/config.dat"]
    assert (tmp_path / "var/cache/apt/archives/partial").is_dir()
    assert "path-exclude /usr/share/doc/*" in (tmp_path / "etc/dpkg/dpkg.cfg.d/cmg-harness-slim").read_text()


def test_the_offline_base_needs_root_and_debootstrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offline_base.os, "geteuid", lambda: 1000)
    with pytest.raises(ImageError, match=r"needs root .*`sudo cmg-harness images base`"):
        offline_base.build_offline_base(progress=silent)
    monkeypatch.setattr(offline_base.os, "geteuid", lambda: 0)
    monkeypatch.setattr(offline_base.shutil, "which", lambda name: None)
    with pytest.raises(ImageError, match="debootstrap is not installed: `apt-get install debootstrap`"):
        offline_base.build_offline_base(progress=silent)

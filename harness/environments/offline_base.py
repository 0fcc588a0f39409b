"""The offline base image, `cmg-harness/base:bookworm`, for where no registry is reachable: Debian bookworm with
python3 and node, made with debootstrap from the mirror this machine's apt uses, trimmed of what containers never
read, and imported into Docker."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from harness.environments.image_engine import connect_engine, megabytes
from harness.environments.image_names import (
    BUILD_DIR,
    DEBIAN_SUITE,
    DEFAULT_MIRROR,
    LABEL_BASE,
    OFFLINE_BASE,
    OFFLINE_BASE_PACKAGES,
    ImageError,
    Progress,
    stderr,
)


def build_offline_base(name: str = OFFLINE_BASE, *, mirror: str | None = None, workdir: Path = BUILD_DIR,
                       progress: Progress = stderr) -> str:
    """A Debian bookworm base with python3 (3.11, venv) and node (18), made with debootstrap from the Debian
    mirror this machine's apt uses and imported into Docker as `name`: for where no registry is reachable.
    Needs root and debootstrap; takes about a minute. Returns `name`."""
    _check_can_debootstrap()
    mirror = mirror or debian_mirror()
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with connect_engine() as engine:  # before the long part: no engine, no point
        rootfs = Path(tempfile.mkdtemp(prefix="rootfs-", dir=workdir))
        try:
            progress(f"debootstrap {DEBIAN_SUITE} from {mirror} (about a minute)")
            _debootstrap(rootfs, mirror, progress)
            trim_rootfs(rootfs)
            progress(f"importing the root file system as {name}")
            engine.import_rootfs(rootfs, name, _base_changes(mirror))
        finally:
            shutil.rmtree(rootfs, ignore_errors=True)
        progress(f"made {name} in {time.perf_counter() - started:.0f} s: {megabytes(engine.size(name))}")
    return name


def _check_can_debootstrap() -> None:
    if os.geteuid() != 0:
        raise ImageError("making the offline base needs root (debootstrap creates device nodes and chroots): "
                         "run `sudo cmg-harness images base`")
    if shutil.which("debootstrap") is None:
        raise ImageError("debootstrap is not installed: `apt-get install debootstrap`")


def _debootstrap(rootfs: Path, mirror: str, progress: Progress) -> None:
    command = ["debootstrap", "--variant=minbase", f"--include={','.join(OFFLINE_BASE_PACKAGES)}",
               "--components=main", DEBIAN_SUITE, str(rootfs), mirror]
    phases = PhaseReporter(progress)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            phases.feed(line.rstrip())
    if process.returncode != 0:
        raise ImageError(f"debootstrap failed (exit {process.returncode}):\n" + "\n".join(phases.tail))


class PhaseReporter:
    """debootstrap prints a line per package and phase; people need each phase once (and warnings, errors)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tail: list[str] = []
        self._phases: set[str] = set()

    def feed(self, line: str) -> None:
        self.tail = [*self.tail[-29:], line]
        kind, _, text = line.partition(": ")
        phase = text.split(" ", 1)[0]
        if kind in ("W", "E"):
            self.progress(f"debootstrap: {line}")
        elif kind == "I" and phase not in self._phases:
            self._phases.add(phase)
            self.progress(f"debootstrap: {text}")


# Documentation, manuals, translations, apt's package lists and caches, logs of the install: nothing in the
# containers reads them. The folders stay (apt expects some of them).
_TRIM = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian",
         "var/lib/apt/lists", "var/cache/apt", "var/log", "tmp")
# Docker provides the first two at run time; debconf's backups of its database.
_TRIM_FILES = ("etc/resolv.conf", "etc/hostname", "var/cache/debconf/config.dat-old",
               "var/cache/debconf/templates.dat-old")
_DPKG_EXCLUDES = """\
# Keep later apt installs as small as the image: no documentation, manuals or translations.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
"""


def trim_rootfs(rootfs: Path) -> None:
    """Empties what a container never reads (keeps the licences), and the host's resolver settings, which
    Docker provides at run time."""
    for relative in _TRIM:
        _empty(rootfs / relative, keep=lambda path: path.name == "copyright")
    for relative in _TRIM_FILES:
        (rootfs / relative).unlink(missing_ok=True)
    excludes = rootfs / "etc" / "dpkg" / "dpkg.cfg.d" / "cmg-harness-slim"
    excludes.parent.mkdir(parents=True, exist_ok=True)
    excludes.write_text(_DPKG_EXCLUDES, encoding="utf-8")


def _empty(folder: Path, keep: Callable[[Path], bool]) -> None:
    """Removes the files below `folder` that `keep` does not accept; folders stay."""
    if not folder.is_dir() or folder.is_symlink():
        return
    for path in folder.rglob("*"):
        if (path.is_symlink() or not path.is_dir()) and not keep(path):
            path.unlink()


def _base_changes(mirror: str) -> list[str]:
    # An imported root file system has no configuration; these are what the public images set.
    return ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "ENV LANG=C.UTF-8",
            'CMD ["bash"]', f'LABEL {LABEL_BASE}="debootstrap {DEBIAN_SUITE} from {mirror}"']


def debian_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The mirror this machine's apt uses for bookworm (deb822 `.sources` or one-line `.list` files), else
    deb.debian.org."""
    files = [*sorted((apt_dir / "sources.list.d").glob("*.sources")), *sorted((apt_dir / "sources.list.d").glob(
        "*.list")), apt_dir / "sources.list"]
    for path in files:
        with contextlib.suppress(OSError):
            found = _mirror_in(path.read_text(encoding="utf-8"), deb822=path.suffix == ".sources")
            if found:
                return found
    return DEFAULT_MIRROR


def _mirror_in(text: str, *, deb822: bool) -> str | None:
    entries = _deb822_entries(text) if deb822 else _one_line_entries(text)
    for types, uris, suites in entries:
        if "deb" in types and DEBIAN_SUITE in suites:
            return next((uri.rstrip("/") for uri in uris if uri.startswith(("http://", "https://"))), None)
    return None


def _deb822_entries(text: str) -> Iterator[tuple[list[str], list[str], list[str]]]:
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line.startswith(("#", " ", "\t")):
                fields[key.strip().lower()] = value.strip()
        yield fields.get("types", "").split(), fields.get("uris", "").split(), fields.get("suites", "").split()


def _one_line_entries(text: str) -> Iterator[tuple[list[str], list[str], list[str]]]:
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()  # drop [options]
        if len(words) >= 3:
            yield [words[0]], [words[1]], [words[2]]

"""The build contexts of the images, prepared offline once pip and npm have filled their caches: the harness's
wheel built from exactly the sources the tag hashes, its dependencies' wheels for the images' Python, the npm
install of Azurite, and the Dockerfiles, under build/containers/<tag>/."""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from harness.environments.image_names import (
    BUILD_DIR,
    DOCKERFILES,
    IMAGE_GLIBC_MINOR,
    IMAGE_PYTHON,
    PROJECT_ROOT,
    ImageError,
    Progress,
    azurite_version,
    image_tag,
    source_files,
    stderr,
)


def prepare_context(workdir: Path = BUILD_DIR, *, root: Path = PROJECT_ROOT, progress: Progress = stderr) -> Path:
    """The build contexts of the current tag, `<workdir>/<tag>/`: `emulators/` (its Dockerfile and `wheels/`)
    and `azurite/` (its Dockerfile and the npm install in `azurite/`). Needs pip's and npm's registries the
    first time; dependency wheels and the npm install are reused until pyproject.toml or the Azurite version
    changes."""
    tag = image_tag(root)
    context = workdir / tag
    if (context / ".complete").exists():
        return context
    workdir.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{tag}-", dir=workdir))
    try:
        _fill_context(partial, workdir, root, progress)
        shutil.rmtree(context, ignore_errors=True)
        partial.rename(context)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    (context / ".complete").touch()
    _prune_contexts(workdir, keep=tag)
    return context


def _fill_context(context: Path, workdir: Path, root: Path, progress: Progress) -> None:
    emulators, azurite = context / "emulators", context / "azurite"
    wheel = build_harness_wheel(root, emulators / "wheels" / "harness", progress)
    _link_tree(dependency_wheels(wheel, workdir, root, progress), emulators / "wheels" / "deps")
    _link_tree(azurite_install(workdir, azurite_version(root), progress), azurite / "azurite")
    for kind, dockerfile in DOCKERFILES.items():
        shutil.copyfile(root / "environments" / "containers" / dockerfile, context / kind / "Dockerfile")


def build_harness_wheel(root: Path, into: Path, progress: Progress = stderr) -> Path:
    """The harness's wheel, built from a copy of exactly the sources the tag hashes (a build in the working
    tree would leave build/lib behind, whose stale modules end up in later wheels)."""
    progress("building the harness wheel")
    with tempfile.TemporaryDirectory(prefix="cmg-harness-src-") as temp:
        source = stage_sources(root, Path(temp))
        _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(into), str(source)],
             "pip wheel (the harness)")
    wheels = sorted(into.glob("*.whl"))
    if len(wheels) != 1:
        raise ImageError(f"pip wheel left {len(wheels)} wheels in {into}, expected one")
    return wheels[0]


def stage_sources(root: Path, into: Path) -> Path:
    """A copy of what the harness wheel is built from: harness/ (no caches), pyproject.toml, the README."""
    source = into / "src"
    for path in source_files(root):
        target = source / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    shutil.copyfile(root / "pyproject.toml", source / "pyproject.toml")
    readme = root / "README.md"
    if readme.exists():  # pyproject.toml names it as the long description
        shutil.copyfile(readme, source / "README.md")
    return source


def dependency_wheels(wheel: Path, workdir: Path, root: Path, progress: Progress = stderr) -> Path:
    """Wheels of every runtime dependency for the images' CPython 3.11 on Linux, and a requirements.txt that
    pins them; kept in `<workdir>/deps-<hash>/` until pyproject.toml changes."""
    key = hashlib.sha256((root / "pyproject.toml").read_bytes() + " ".join(platform_tags()).encode())
    cached = workdir / f"deps-{key.hexdigest()[:12]}"
    if (cached / "requirements.txt").exists():
        return cached
    progress(f"downloading dependency wheels for CPython {IMAGE_PYTHON} ({machine_arch()})")
    partial = Path(tempfile.mkdtemp(prefix=".deps-", dir=workdir))
    try:
        _run(pip_download_command(wheel, partial), "pip download (the harness's dependencies)")
        (partial / wheel.name).unlink(missing_ok=True)  # the harness's own wheel travels on its own
        (partial / "requirements.txt").write_text(requirements(partial.glob("*.whl")), encoding="utf-8")
        shutil.rmtree(cached, ignore_errors=True)  # what an interrupted download left
        partial.rename(cached)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return cached


def pip_download_command(wheel: Path, into: Path) -> list[str]:
    platforms = [option for tag in platform_tags() for option in ("--platform", tag)]
    return [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
            "--python-version", IMAGE_PYTHON, "--implementation", "cp", *platforms, "-d", str(into), str(wheel)]


def platform_tags(arch: str | None = None) -> list[str]:
    """Linux wheel tags the images accept, newest first: manylinux up to bookworm's glibc, and the legacy
    aliases pip still meets on older wheels."""
    arch = arch or machine_arch()
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(IMAGE_GLIBC_MINOR, 16, -1)]
    legacy = ["manylinux2014", "manylinux2010", "manylinux1"] if arch in ("x86_64", "i686") else ["manylinux2014"]
    return [*tags, *(f"{name}_{arch}" for name in legacy), f"linux_{arch}"]


def machine_arch() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


_WHEEL_NAME = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)-")


def requirements(wheels: Iterable[Path]) -> str:
    """`name==version` per wheel, so the image installs exactly the set downloaded here."""
    lines = []
    for wheel in wheels:
        match = _WHEEL_NAME.match(wheel.name)
        if match is None:
            raise ImageError(f"not a wheel file name: {wheel.name}")
        lines.append(f"{match['name'].replace('_', '-').lower()}=={match['version']}")
    return "".join(f"{line}\n" for line in sorted(lines))


def azurite_install(workdir: Path, version: str, progress: Progress = stderr) -> Path:
    """`npm install azurite@<version>` without dev dependencies, in `<workdir>/azurite-<version>/`, kept."""
    cached = workdir / f"azurite-{version}"
    if (cached / ".complete").exists():
        return cached
    npm = shutil.which("npm")
    if npm is None:
        raise ImageError("npm is not installed: it prepares Azurite for its image (install Node.js with npm)")
    progress(f"installing azurite@{version} with npm")
    shutil.rmtree(cached, ignore_errors=True)
    _run([npm, "install", "--prefix", str(cached), "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error",
          f"azurite@{version}"], "npm install azurite")
    prune_node_modules(cached / "node_modules")
    (cached / ".complete").touch()
    return cached


# Nothing reads these at run time: source maps, type declarations, documentation.
_NODE_JUNK = ("*.map", "*.d.ts", "*.d.mts", "*.d.cts", "*.md", "*.markdown")


def prune_node_modules(node_modules: Path) -> int:
    """Removes source maps, type declarations and documentation; returns the bytes freed."""
    freed = 0
    for pattern in _NODE_JUNK:
        for path in node_modules.rglob(pattern):
            if path.is_file() and not path.is_symlink() and not path.name.upper().startswith("LICENSE"):
                freed += path.stat().st_size
                path.unlink()
    return freed


def _link_tree(source: Path, target: Path) -> None:
    """A copy made of hard links (fast, no space) where the file system allows, symlinks kept as they are."""
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link, symlinks=True)


def _prune_contexts(workdir: Path, keep: str) -> None:
    """Contexts of other tags: rebuilt in seconds from the kept wheels and npm install if ever needed again."""
    for path in workdir.glob("src-*"):
        if path.name != keep:
            shutil.rmtree(path, ignore_errors=True)


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-20:])
        raise ImageError(f"{what} failed (exit {result.returncode}):\n{tail}")

"""Container images of the emulators and of Azurite, built from the current sources; no network in the build.

    cmg-harness/<service>:src-<12 hex>   for each of SERVICES and for AZURITE, all with the same tag

The tag hashes everything that goes into the images (harness/, pyproject.toml, the Dockerfiles in
environments/containers/, the Azurite version package-lock.json locks), so an image built from other sources
is never used: `ensure_images()` builds what the current tag lacks. The Python images take
`--port P --config FILE` and probe `https://127.0.0.1:$HARNESS_PORT/_harness/health`; Azurite takes
azurite-blob's arguments and probes a TCP connection to `$HARNESS_PORT`.

Preparing a build context needs pip and npm with their registries, once: wheels and the npm install are kept
under build/containers/. The Docker build itself runs with no network. Base images, in this order:
`ensure_images(base_image=...)`, `$CMG_HARNESS_BASE_IMAGE`, the public `python:3.11-slim-bookworm` and
`node:20-bookworm-slim` when they are here, the offline base `cmg-harness/base:bookworm` when it is here
(`build_offline_base()`, made with debootstrap: python3 and node in one image), and last pulling the public
ones.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.environments.docker_engine import EngineUnavailable, open_engine

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = PROJECT_ROOT / "build" / "containers"
DOCKERFILES = {"emulators": "emulators.Dockerfile", "azurite": "azurite.Dockerfile"}  # in environments/containers

SERVICES = ("site", "cmg", "clouddp", "client", "network", "storage")
AZURITE = "azurite"
REPOSITORY = "cmg-harness"
OFFLINE_BASE = f"{REPOSITORY}/base:bookworm"
BASE_IMAGE_ENV = "CMG_HARNESS_BASE_IMAGE"
PUBLIC_BASES = {"emulators": "python:3.11-slim-bookworm", "azurite": "node:20-bookworm-slim"}
LABEL_TAG = "org.cmg-harness.tag"
LABEL_SERVICE = "org.cmg-harness.service"
LABEL_BASE = "org.cmg-harness.base"
LABEL_INPUTS = "org.cmg-harness.inputs"  # Azurite's: what its image is made of (not the harness's sources)

# What the wheels must suit: the images' Python and C library (Debian bookworm in every base above), whatever
# the host runs.
IMAGE_PYTHON = "3.11"
IMAGE_GLIBC_MINOR = 36  # glibc 2.36
DEBIAN_SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
OFFLINE_BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates", "nodejs")

Progress = Callable[[str], None]


class ImageError(RuntimeError):
    """An image could not be had; the message says what to do about it."""


def _stderr(text: str) -> None:
    print(f"images: {text}", file=sys.stderr, flush=True)


# -- names -------------------------------------------------------------------------------------------------


def image_tag(root: Path = PROJECT_ROOT) -> str:
    """`src-<12 hex>`: a hash of every input of the images; the same sources always give the same tag."""
    digest = hashlib.sha256()
    for name, content in _tag_inputs(root):
        for part in (name.encode(), content):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return f"src-{digest.hexdigest()[:12]}"


def image_name(service: str, tag: str | None = None) -> str:
    if service not in (*SERVICES, AZURITE):
        raise ValueError(f"no image for {service!r}: one of {', '.join((*SERVICES, AZURITE))}")
    return f"{REPOSITORY}/{service}:{tag or image_tag()}"


def _tag_inputs(root: Path) -> Iterator[tuple[str, bytes]]:
    for path in _source_files(root):
        yield path.relative_to(root).as_posix(), path.read_bytes()
    yield "pyproject.toml", (root / "pyproject.toml").read_bytes()
    for name in sorted(DOCKERFILES.values()):
        yield name, (root / "environments" / "containers" / name).read_bytes()
    yield "azurite", azurite_version(root).encode()


def _source_files(root: Path) -> list[Path]:
    """The package's files, without the caches Python and tools leave beside them."""
    return sorted(path for path in (root / "harness").rglob("*")
                  if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"))


def azurite_inputs(root: Path = PROJECT_ROOT) -> str:
    """What Azurite's image is made of: its Dockerfile and version. The harness's sources are not among them,
    so a new tag reuses an Azurite image of an older one."""
    dockerfile = (root / "environments" / "containers" / DOCKERFILES["azurite"]).read_bytes()
    return hashlib.sha256(dockerfile + azurite_version(root).encode()).hexdigest()[:12]


def azurite_version(root: Path = PROJECT_ROOT) -> str:
    """The Azurite version package-lock.json locks (what `npm ci` installs for the local environment)."""
    lock = json.loads((root / "package-lock.json").read_text(encoding="utf-8"))
    try:
        return str(lock["packages"]["node_modules/azurite"]["version"])
    except KeyError:
        raise ImageError(f"{root / 'package-lock.json'} locks no Azurite version: run `npm install`") from None


# -- build context -----------------------------------------------------------------------------------------


def prepare_context(workdir: Path = BUILD_DIR, *, root: Path = PROJECT_ROOT, progress: Progress = _stderr) -> Path:
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


def build_harness_wheel(root: Path, into: Path, progress: Progress = _stderr) -> Path:
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
    for path in _source_files(root):
        target = source / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    shutil.copyfile(root / "pyproject.toml", source / "pyproject.toml")
    readme = root / "README.md"
    if readme.exists():  # pyproject.toml names it as the long description
        shutil.copyfile(readme, source / "README.md")
    return source


def dependency_wheels(wheel: Path, workdir: Path, root: Path, progress: Progress = _stderr) -> Path:
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


def azurite_install(workdir: Path, version: str, progress: Progress = _stderr) -> Path:
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


# -- the Docker engine -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageInfo:
    name: str
    service: str  # a service, AZURITE, or "base"
    tag: str
    size_bytes: int
    created: str
    current: bool  # of the current sources' tag (the base always is)


class Engine:
    """The few Docker calls this module makes (the docker SDK), in one place so tests can stand in for it."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.client is not None:
            self.client.close()

    def has_image(self, name: str) -> bool:
        import docker.errors
        try:
            self.client.images.get(name)
        except docker.errors.ImageNotFound:
            return False
        return True

    def labels(self, name: str) -> dict[str, str]:
        labels: dict[str, str] = self.client.images.get(name).labels
        return labels

    def size(self, name: str) -> int:
        size: int = self.client.images.get(name).attrs["Size"]
        return size

    def pull(self, name: str) -> str | None:
        """None once pulled, else why not."""
        import docker.errors
        try:
            self.client.images.pull(name)
        except docker.errors.APIError as error:
            return str(error.explanation or error)
        return None

    def build(self, context: Path, *, target: str, name: str, buildargs: Mapping[str, str],
              progress: Progress) -> None:
        # No network in the build: everything it needs is in the context.
        stream = self.client.api.build(path=str(context), tag=name, target=target, buildargs=dict(buildargs),
                                       network_mode="none", pull=False, rm=True, forcerm=True, decode=True)
        log = BuildLog(progress, prefix=f"{name}: ")
        for chunk in stream:
            log.feed(chunk)

    def import_rootfs(self, rootfs: Path, name: str, changes: list[str]) -> None:
        repository, _, tag = name.rpartition(":")
        with subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."],
                              stdout=subprocess.PIPE) as tar:
            assert tar.stdout is not None
            chunks = iter(lambda: tar.stdout.read(1 << 20), b"")  # type: ignore[union-attr]
            # A generator goes out chunked, as it comes; a pipe given as it is would be read line by line.
            self.client.api.import_image(chunks, repository=repository, tag=tag, changes=changes)
        if tar.returncode != 0:
            raise ImageError(f"tar of {rootfs} failed (exit {tar.returncode})")

    def find_labelled(self, repository: str, labels: Mapping[str, str]) -> str | None:
        """The id of an image of `repository` that carries all these labels, if there is one."""
        images = self.client.images.list(name=repository, filters={"label": [f"{k}={v}" for k, v in labels.items()]})
        return str(images[0].id) if images else None

    def tag(self, image: str, name: str) -> None:
        repository, _, tag = name.rpartition(":")
        self.client.images.get(image).tag(repository, tag)

    def harness_images(self) -> list[Any]:
        images: list[Any] = self.client.images.list(filters={"reference": f"{REPOSITORY}/*"})
        return images

    def remove(self, name: str) -> str | None:
        """None once removed, else why not (an image a container still uses stays)."""
        import docker.errors
        try:
            self.client.images.remove(name)
        except docker.errors.APIError as error:
            return str(error.explanation or error)
        return None


def _engine() -> Engine:
    """The Docker engine ($DOCKER_HOST or the local socket), or a clear error."""
    try:
        import docker  # noqa: F401
    except ImportError:
        raise ImageError("the docker package is missing: pip install 'cmg-content-harness[containers]'") from None
    try:
        return Engine(open_engine(timeout=600))  # a quiet build step can take minutes
    except EngineUnavailable as error:
        raise ImageError(f"no Docker engine answers ({error}): start dockerd, or set DOCKER_HOST") from None


class BuildLog:
    """A build's output for people: the steps that do work (RUN, COPY, ADD) and really run, not those the cache
    answers; on failure, the end of the output."""

    _WORK = re.compile(r"^Step \d+/\d+ : (RUN|COPY|ADD) ")

    def __init__(self, progress: Progress, prefix: str = "") -> None:
        self.progress = progress
        self.prefix = prefix
        self.lines: list[str] = []
        self._pending: str | None = None

    def feed(self, chunk: Mapping[str, Any]) -> None:
        if "error" in chunk:
            self.lines.append(str(chunk["error"]).strip())
            raise ImageError(f"{self.prefix}the build failed:\n" + "\n".join(self.lines[-25:]))
        for line in str(chunk.get("stream", "")).splitlines():
            self._line(line.rstrip())

    def _line(self, line: str) -> None:
        if not line:
            return
        self.lines.append(line)
        if line.startswith("Step "):
            self._pending = line if self._WORK.match(line) else None
        elif self._pending is not None:
            if "Using cache" not in line:  # the line after a step says whether the cache had it
                self.progress(self.prefix + _shorten(self._pending))
            self._pending = None


def _shorten(text: str, width: int = 110) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# -- base images -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BaseImages:
    emulators: str
    azurite: str
    explicit: bool  # named by the caller or $CMG_HARNESS_BASE_IMAGE: images built on another base are rebuilt

    def for_kind(self, kind: str) -> str:
        return self.emulators if kind == "emulators" else self.azurite


def requested_base(base_image: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    return base_image or environ.get(BASE_IMAGE_ENV) or None


def choose_base_images(engine: Engine, base_image: str | None = None, *, environ: Mapping[str, str] = os.environ,
                       progress: Progress = _stderr) -> BaseImages:
    """The argument, else $CMG_HARNESS_BASE_IMAGE (one image for both Dockerfiles: it needs python3.11 and
    node), else the public images when here, else the offline base when here, else the public ones pulled."""
    requested = requested_base(base_image, environ)
    if requested is not None:
        _require(engine, requested, "the base_image argument" if base_image else f"${BASE_IMAGE_ENV}", progress)
        return BaseImages(requested, requested, explicit=True)
    public = BaseImages(PUBLIC_BASES["emulators"], PUBLIC_BASES["azurite"], explicit=False)
    if all(engine.has_image(name) for name in PUBLIC_BASES.values()):
        return public
    if engine.has_image(OFFLINE_BASE):
        progress(f"base image: {OFFLINE_BASE} (the public ones are not here)")
        return BaseImages(OFFLINE_BASE, OFFLINE_BASE, explicit=False)
    failures = {name: why for name in PUBLIC_BASES.values() if (why := _fetch(engine, name, progress))}
    if failures:
        raise ImageError(_no_base_message(failures))
    return public


def _require(engine: Engine, name: str, source: str, progress: Progress) -> None:
    why = _fetch(engine, name, progress)
    if why is None:
        return
    if name == OFFLINE_BASE:
        raise ImageError(f"the base image {name} (from {source}) is not here: run `cmg-harness images base` "
                         "to make it (needs root and debootstrap)")
    raise ImageError(f"the base image {name} (from {source}) is not here and could not be pulled ({why}). "
                     f"Name an image that is here, or run `cmg-harness images base` and use {OFFLINE_BASE}.")


def _fetch(engine: Engine, name: str, progress: Progress) -> str | None:
    """None when the image is here (pulled if need be), else why not."""
    if engine.has_image(name):
        return None
    progress(f"pulling {name}")
    return engine.pull(name)


def _no_base_message(failures: Mapping[str, str]) -> str:
    reasons = "; ".join(f"{name}: {why}" for name, why in failures.items())
    return (f"no base image for the harness's containers: {reasons}. Without a registry, run "
            f"`cmg-harness images base` once (a Debian {DEBIAN_SUITE} image made with debootstrap, as root), or set "
            f"{BASE_IMAGE_ENV} to an image that is here and has python3.11 (with venv) and node.")


# -- building ----------------------------------------------------------------------------------------------


def ensure_images(base_image: str | None = None, progress: Progress = _stderr, *,
                  workdir: Path = BUILD_DIR) -> dict[str, str]:
    """Every image of the current sources, service (and AZURITE) → image name; builds only what is missing.

    `base_image` (else $CMG_HARNESS_BASE_IMAGE) also rebuilds images of this tag that another base made.
    Safe to call from several processes at once: they build one after another."""
    tag = image_tag()
    names = {service: image_name(service, tag) for service in (*SERVICES, AZURITE)}
    with _engine() as engine:
        _ensure(engine, names, tag, base_image, workdir, progress)
    return names


def _ensure(engine: Engine, names: Mapping[str, str], tag: str, base_image: str | None, workdir: Path,
            progress: Progress) -> None:
    requested = requested_base(base_image)
    if not _missing(engine, names, requested):
        return
    with _lock(workdir / ".lock"):
        missing = _missing(engine, names, requested)  # another process may have built them meanwhile
        if AZURITE in missing and _retag_azurite(engine, missing[AZURITE], requested, progress):
            del missing[AZURITE]
        if missing:
            bases = choose_base_images(engine, base_image, progress=progress)
            context = prepare_context(workdir, progress=progress)
            if context.name != tag:
                raise ImageError("the harness's sources changed while its images were being prepared: run again")
            _build(engine, missing, tag, bases, context, progress)


def _missing(engine: Engine, names: Mapping[str, str], requested: str | None) -> dict[str, str]:
    def wanted(name: str) -> bool:
        if not engine.has_image(name):
            return True
        return requested is not None and engine.labels(name).get(LABEL_BASE) != requested

    return {service: name for service, name in names.items() if wanted(name)}


def _retag_azurite(engine: Engine, name: str, requested: str | None, progress: Progress) -> bool:
    """Tags an Azurite image of other sources with the same inputs (and the requested base) as `name`."""
    labels = {LABEL_INPUTS: azurite_inputs(), **({LABEL_BASE: requested} if requested else {})}
    donor = engine.find_labelled(f"{REPOSITORY}/{AZURITE}", labels)
    if donor is None:
        return False
    engine.tag(donor, name)
    progress(f"tagged {name}: Azurite's image is the same for these sources")
    return True


def _build(engine: Engine, missing: Mapping[str, str], tag: str, bases: BaseImages, context: Path,
           progress: Progress) -> None:
    for service, name in missing.items():
        kind = "azurite" if service == AZURITE else "emulators"
        started = time.perf_counter()
        progress(f"building {name} on {bases.for_kind(kind)}")
        engine.build(context / kind, target=service, name=name, progress=progress,
                     buildargs={"BASE_IMAGE": bases.for_kind(kind), **_build_args(kind, tag)})
        progress(f"built {name} in {time.perf_counter() - started:.1f} s: {_megabytes(engine.size(name))}")


def _build_args(kind: str, tag: str) -> dict[str, str]:
    if kind == "azurite":
        return {"AZURITE_VERSION": azurite_version(), "AZURITE_INPUTS": azurite_inputs()}
    return {"HARNESS_TAG": tag}


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.0f} MB"


# -- housekeeping ------------------------------------------------------------------------------------------


def list_images() -> list[ImageInfo]:
    """The harness's images here (the offline base too), current tag first."""
    with _engine() as engine:
        return _list(engine)


def _list(engine: Engine) -> list[ImageInfo]:
    current = image_tag()
    found = [info for image in engine.harness_images() for info in _infos(image, current)]
    return sorted(found, key=lambda info: (not info.current, info.service, info.name))


def _infos(image: Any, current: str) -> Iterator[ImageInfo]:
    for name in image.tags:
        repository, _, tag = name.rpartition(":")
        service = repository.removeprefix(f"{REPOSITORY}/")
        if repository.startswith(f"{REPOSITORY}/"):
            yield ImageInfo(name, service, tag, int(image.attrs["Size"]), str(image.attrs.get("Created", "")),
                            current=service == "base" or tag == current)


def remove_images(older_than_current: bool = True, progress: Progress = _stderr) -> list[str]:
    """Removes the service images of other tags (all of them with False); never the offline base, which takes a
    minute and the network to make again, nor an image a container still uses. Returns the names removed."""
    removed = []
    with _engine() as engine:
        for info in _list(engine):
            if info.service == "base" or (older_than_current and info.current):
                continue
            why = engine.remove(info.name)
            if why is None:
                removed.append(info.name)
            else:
                progress(f"kept {info.name}: {why}")
    return removed


# -- the offline base --------------------------------------------------------------------------------------


def build_offline_base(name: str = OFFLINE_BASE, *, mirror: str | None = None, workdir: Path = BUILD_DIR,
                       progress: Progress = _stderr) -> str:
    """A Debian bookworm base with python3 (3.11, venv) and node (18), made with debootstrap from the Debian
    mirror this machine's apt uses and imported into Docker as `name`: for where no registry is reachable.
    Needs root and debootstrap; takes about a minute. Returns `name`."""
    _check_can_debootstrap()
    mirror = mirror or debian_mirror()
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with _engine() as engine:  # before the long part: no engine, no point
        rootfs = Path(tempfile.mkdtemp(prefix="rootfs-", dir=workdir))
        try:
            progress(f"debootstrap {DEBIAN_SUITE} from {mirror} (about a minute)")
            _debootstrap(rootfs, mirror, progress)
            trim_rootfs(rootfs)
            progress(f"importing the root file system as {name}")
            engine.import_rootfs(rootfs, name, _base_changes(mirror))
        finally:
            shutil.rmtree(rootfs, ignore_errors=True)
        progress(f"made {name} in {time.perf_counter() - started:.0f} s: {_megabytes(engine.size(name))}")
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

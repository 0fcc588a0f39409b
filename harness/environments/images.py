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

This module chooses the base images, builds what the current tag lacks and tidies up. The names and the tag are
in image_names.py, the build context in image_context.py, the Docker calls in image_engine.py and the offline
base in offline_base.py.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.environments.image_context import prepare_context
from harness.environments.image_engine import Engine, ImageInfo, connect_engine, megabytes
from harness.environments.image_names import (
    AZURITE,
    BASE_IMAGE_ENV,
    BUILD_DIR,
    DEBIAN_SUITE,
    LABEL_BASE,
    LABEL_INPUTS,
    OFFLINE_BASE,
    PUBLIC_BASES,
    REPOSITORY,
    SERVICES,
    ImageError,
    Progress,
    azurite_inputs,
    azurite_version,
    image_name,
    image_tag,
    stderr,
)

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
                       progress: Progress = stderr) -> BaseImages:
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


def ensure_images(base_image: str | None = None, progress: Progress = stderr, *,
                  workdir: Path = BUILD_DIR) -> dict[str, str]:
    """Every image of the current sources, service (and AZURITE) → image name; builds only what is missing.

    `base_image` (else $CMG_HARNESS_BASE_IMAGE) also rebuilds images of this tag that another base made.
    Safe to call from several processes at once: they build one after another."""
    tag = image_tag()
    names = {service: image_name(service, tag) for service in (*SERVICES, AZURITE)}
    with connect_engine() as engine:
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
        progress(f"built {name} in {time.perf_counter() - started:.1f} s: {megabytes(engine.size(name))}")


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


# -- housekeeping ------------------------------------------------------------------------------------------


def list_images() -> list[ImageInfo]:
    """The harness's images here (the offline base too), current tag first."""
    with connect_engine() as engine:
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


def remove_images(older_than_current: bool = True, progress: Progress = stderr) -> list[str]:
    """Removes the service images of other tags (all of them with False); never the offline base, which takes a
    minute and the network to make again, nor an image a container still uses. Returns the names removed."""
    removed = []
    with connect_engine() as engine:
        for info in _list(engine):
            if info.service == "base" or (older_than_current and info.current):
                continue
            why = engine.remove(info.name)
            if why is None:
                removed.append(info.name)
            else:
                progress(f"kept {info.name}: {why}")
    return removed

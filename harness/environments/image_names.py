"""What the harness's images are called and what their tag hashes: the names, labels and versions every image
module shares, the tag of the current sources, Azurite's version and inputs, and ImageError."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

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


def stderr(text: str) -> None:
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
    for path in source_files(root):
        yield path.relative_to(root).as_posix(), path.read_bytes()
    yield "pyproject.toml", (root / "pyproject.toml").read_bytes()
    for name in sorted(DOCKERFILES.values()):
        yield name, (root / "environments" / "containers" / name).read_bytes()
    yield "azurite", azurite_version(root).encode()


def source_files(root: Path) -> list[Path]:
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

"""The Docker engine as the image modules use it: the few calls they make, in one class that tests stand in
for; the engine of this machine or an error that says how to get one; and a build's output, shortened for
people."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.environments.docker_engine import EngineUnavailable, open_engine
from harness.environments.image_names import REPOSITORY, ImageError, Progress


@dataclass(frozen=True)
class ImageInfo:
    name: str
    service: str  # a service, AZURITE, or "base"
    tag: str
    size_bytes: int
    created: str
    current: bool  # of the current sources' tag (the base always is)


class Engine:
    """The few Docker calls the image modules make (the docker SDK), in one place so tests can stand in for it."""

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


def connect_engine() -> Engine:
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


def megabytes(size: int) -> str:
    return f"{size / 1e6:.0f} MB"

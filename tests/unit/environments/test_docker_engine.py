"""Opening a Docker engine that does not answer leaves no socket open: the docker SDK leaks the one it failed to
connect, and the garbage collector's ResourceWarning, whenever it comes, fails whichever test is running."""

from __future__ import annotations

import gc
import os
import re
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("docker", reason="the docker SDK comes with testcontainers: pip install -e .[dev]")

from harness.environments import containers, image_engine
from harness.environments.docker_engine import EngineUnavailable, open_engine
from harness.environments.image_names import ImageError


def open_sockets() -> set[str]:
    """The process's open sockets, by inode, as the kernel lists them."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the descriptor listdir itself used, closed by now
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


@pytest.fixture
def refusing_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DOCKER_HOST names a socket file nobody listens on (an engine that stopped and left its socket behind):
    connecting to it is refused at once."""
    with tempfile.TemporaryDirectory(prefix="docker-") as folder:  # short: a socket's path has 107 bytes at most
        path = Path(folder) / "docker.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(path))
        monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
        yield str(path)


@pytest.mark.parametrize(("opener", "error"), [
    (open_engine, EngineUnavailable),  # the tests' engine fixtures
    (image_engine.connect_engine, ImageError),
    (containers._docker, RuntimeError),
], ids=["open_engine", "images", "containers"])
def test_an_engine_that_refuses_is_said_and_leaves_no_socket_open(refusing_engine: str, opener: Callable[[], object],
                                                                  error: type[Exception]) -> None:
    before = open_sockets()
    gc.disable()  # only the fix may close the socket; a collection now would hide the leak (or warn in it)
    try:
        with pytest.raises(error, match="refused"):
            opener()
        left = open_sockets() - before
    finally:
        gc.enable()
    assert left == set(), "the docker SDK's socket is still open after the failed connection"


def test_a_missing_socket_is_said_without_asking_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    before = open_sockets()
    with pytest.raises(EngineUnavailable, match=re.escape("unix:///nonexistent/docker.sock does not exist")):
        open_engine()
    assert open_sockets() == before

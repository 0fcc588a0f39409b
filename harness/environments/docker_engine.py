"""The Docker engine, opened through the docker SDK so that an engine that does not answer leaks nothing.

The SDK connects in its constructor (it asks the engine for its API version). When that connection fails, the
socket it made for it is never closed: only the failed call's frames hold it, and they live on in the
exception's reference cycle until the garbage collector breaks it, whenever that is. The socket then warns
"unclosed <socket.socket … family=1>" (AF_UNIX), and under `filterwarnings = error` that fails whichever test
happens to be running when the collector runs (a stale /var/run/docker.sock with no engine behind it is
enough). docker/docker-py#3356 fixes the SDK but is not released; until then `open_engine` closes that socket
itself, as soon as the call has failed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

DEFAULT_HOST = "unix:///var/run/docker.sock"


class EngineUnavailable(RuntimeError):
    """No Docker engine answers; the message says why. Each caller adds what to do about it."""


def docker_host(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get("DOCKER_HOST", DEFAULT_HOST)


def open_engine(**options: Any) -> Any:
    """A `docker.DockerClient` whose engine answered a ping (close it when done), else EngineUnavailable.
    `options` go to `docker.from_env` (a `timeout`, say)."""
    host = docker_host()
    if host.startswith("unix://") and not Path(host.removeprefix("unix://")).exists():
        raise EngineUnavailable(f"{host} does not exist")
    import docker
    client = None
    try:
        client = docker.from_env(**options)
        client.ping()
    except Exception as error:  # the SDK's own errors, and requests' and the socket's it lets through
        if client is not None:
            client.close()
        close_sockets_left_by(error)
        raise EngineUnavailable(str(error)) from None
    return client


def close_sockets_left_by(error: BaseException) -> None:
    """Closes every socket still held by a local variable of the frames `error` passed through, and of the
    errors it was raised from or while handling: what a failed call made and could not close any more."""
    for frame in _frames(error):
        for value in frame.f_locals.values():
            if isinstance(value, socket.socket):
                value.close()


def _frames(error: BaseException) -> Iterator[FrameType]:
    pending, seen = [error], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        trace = current.__traceback__
        while trace is not None:
            yield trace.tb_frame
            trace = trace.tb_next
        pending += [linked for linked in (current.__cause__, current.__context__) if linked is not None]

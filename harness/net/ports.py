"""Ports for servers that bind their own sockets later: the services of the containers environment."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from contextlib import ExitStack


def free_ports(names: Iterable[str]) -> dict[str, int]:
    """A distinct port on 127.0.0.1 for each name, free at the time of the call.

    Every socket stays bound until all are chosen: a port asked for, released and asked for again may come back
    the same, and two services given one port means one of them never starts. The services bind with
    SO_REUSEADDR, so the ports are usable the moment this returns.
    """
    with ExitStack() as stack:
        ports: dict[str, int] = {}
        for name in names:
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports[name] = sock.getsockname()[1]
        return ports

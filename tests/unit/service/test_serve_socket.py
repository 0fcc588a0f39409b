"""A service that binds its own port turns Nagle off on every connection, as one given a socket by fd does."""

from __future__ import annotations

import argparse
import asyncio
import socket

import pytest

from harness.service.serve import _listening_socket


def nodelay_of_accepted(listener: socket.socket) -> int:
    """TCP_NODELAY on a connection asyncio accepted from `listener`, as uvicorn's server accepts them."""

    async def accept_one() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection(*listener.getsockname())
            value = await asyncio.wait_for(seen, 5)
            writer.close()
            return value

    return asyncio.run(accept_one())


@pytest.mark.parametrize("how", ["port", "fd"])
def test_connections_have_nagle_off(how: str) -> None:
    if how == "port":
        listener = _listening_socket(argparse.Namespace(fd=None, port=0))
    else:
        bound = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        bound.bind(("127.0.0.1", 0))
        bound.listen()
        listener = _listening_socket(argparse.Namespace(fd=bound.detach(), port=None))
    with listener:
        assert nodelay_of_accepted(listener) != 0

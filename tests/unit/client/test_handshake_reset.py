"""WinHTTP's code for a connection that fails, over real sockets: a refused TCP connect is "cannot connect"
(0x80072EFD); a connection that was made and then reset in, or right after, the TLS handshake is "the connection
with the server was terminated abnormally" (0x80072EFE), as WinHTTP reports it once it has a connection."""

from __future__ import annotations

import gc
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import httpcore
import httpx
import pytest
import trustme

from harness.client.clocked_net import ClockedBackend, NetworkActivity
from harness.client.winhttp import transport_hresult
from harness.model.errors import HResult
from harness.net.handshake import HandshakeMarking
from harness.net.resolver import ResolvingTransport

HOST = "contosocmgcontent.blob.core.example"


def reset(connection: socket.socket) -> None:
    """Closes with a TCP reset (linger 0), not a FIN."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


@contextmanager
def serving_once(act: Callable[[socket.socket], None]) -> Iterator[int]:
    """A listener that accepts one connection and does `act` with it; gives the port."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept() -> None:
        with listener:
            connection, _ = listener.accept()
            act(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield port
    thread.join(timeout=5)


def reset_after_client_hello(connection: socket.socket) -> None:
    connection.recv(4096)  # the ClientHello: the handshake has begun on a connection TCP made
    reset(connection)


def reset_after_handshake(pem: tuple[Path, Path], connection: socket.socket) -> None:
    """Completes the handshake with a throwaway certificate the client does not check, then resets before any
    answer."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*pem)
    with context.wrap_socket(connection, server_side=True) as tls:
        tls.recv(4096)  # the request
        reset(tls)


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("storage-cert")
    leaf = trustme.CA().issue_cert(HOST)
    leaf.cert_chain_pems[0].write_to_path(folder / "cert.pem")
    leaf.private_key_pem.write_to_path(folder / "key.pem")
    return folder / "cert.pem", folder / "key.pem"


def client_for(port: int, backend: httpcore.NetworkBackend) -> httpx.Client:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the server's certificate is throwaway
    return httpx.Client(transport=ResolvingTransport({HOST: "127.0.0.1"}, context, network_backend=backend),
                        timeout=10.0)


def code_of(port: int, backend: httpcore.NetworkBackend) -> int:
    with client_for(port, backend) as http, pytest.raises(httpx.HTTPError) as failed:
        http.get(f"https://{HOST}:{port}/content/PS100011/install.wim")
    return transport_hresult(failed.value)


BACKENDS = {"virtual clock": lambda: ClockedBackend(NetworkActivity()), "real clock": HandshakeMarking}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> httpcore.NetworkBackend:
    """The agent's backends: ClockedBackend on a virtual clock, HandshakeMarking on the real one."""
    made: httpcore.NetworkBackend = BACKENDS[request.param]()
    return made


def test_a_refused_connect_cannot_connect(backend: httpcore.NetworkBackend) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    assert code_of(port, backend) == HResult.CANNOT_CONNECT


def test_a_reset_in_the_handshake_is_the_connection(backend: httpcore.NetworkBackend) -> None:
    with serving_once(reset_after_client_hello) as port:
        assert code_of(port, backend) == HResult.CONNECTION_ERROR


def test_a_reset_after_the_handshake_is_the_connection(backend: httpcore.NetworkBackend,
                                                       pem: tuple[Path, Path]) -> None:
    with serving_once(partial(reset_after_handshake, pem)) as port:
        assert code_of(port, backend) == HResult.CONNECTION_ERROR


@pytest.fixture(autouse=True)
def nothing_left_open() -> Iterator[None]:
    """A failed handshake closes its TLS socket (a leaked one warns, and warnings are errors, when collected)."""
    yield
    gc.collect()

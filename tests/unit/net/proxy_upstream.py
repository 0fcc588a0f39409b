"""The tiny threaded server the fault proxy's tests put it in front of, and the socket helpers they talk through.

The server's fixtures (`upstream`, and the proxy in front of it) are in tests/unit/net/conftest.py.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from harness.net.proxy import FaultProxy

Server = TypeVar("Server", bound=socketserver.BaseServer)


@contextmanager
def serving(server: Server) -> Iterator[Server]:
    """`server` answering from a thread of its own for the block; shut down and closed after it."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class EchoHandler(socketserver.BaseRequestHandler):
    """First line picks the behaviour: `echo`, `bulk <n>` (send n bytes, close) or `sink` (count until EOF)."""

    server: Upstream

    def handle(self) -> None:
        words = read_line(self.request).split()
        if not words:
            return  # the proxy gave up on this connection before forwarding anything
        command, *argument = words
        if command == "echo":
            while data := self.request.recv(65536):
                self.request.sendall(data)
        elif command == "bulk":
            remaining = int(argument[0])
            self.server.sending_since.append(time.perf_counter())
            while remaining > 0:
                remaining -= self.request.send(b"x" * min(remaining, 65536))
        else:
            received = 0
            while data := self.request.recv(65536):
                received += len(data)
            self.server.received.append(received)


class Upstream(socketserver.ThreadingTCPServer):
    daemon_threads = True
    received: list[int]
    sending_since: list[float]  # when each bulk answer began, on time.perf_counter()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets and cut-offs are what these tests cause


def read_line(sock: socket.socket) -> str:
    line = b""
    while not line.endswith(b"\n") and (byte := sock.recv(1)):  # byte by byte: what follows is the command's
        line += byte
    return line.decode()


def address_of(server: Upstream) -> str:
    return f"127.0.0.1:{server.server_address[1]}"


def connect(proxy: FaultProxy, command: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    sock.sendall(command.encode() + b"\n")
    return sock


def round_trip(proxy: FaultProxy, payload: bytes = b"ping") -> float:
    with connect(proxy, "echo") as sock:
        started = time.perf_counter()
        sock.sendall(payload)
        assert receive_exactly(sock, len(payload)) == payload
        return time.perf_counter() - started


def receive_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size and (chunk := sock.recv(size - len(data))):
        data += chunk
    return data


def download(proxy: FaultProxy, size: int) -> tuple[int, float]:
    """Bytes received and seconds taken; it only counts, so the client is never what limits the rate."""
    with connect(proxy, f"bulk {size}") as sock:
        started, received = time.perf_counter(), 0
        while chunk := sock.recv(262144):
            received += len(chunk)
        return received, time.perf_counter() - started


def is_closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True


def eventually(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True

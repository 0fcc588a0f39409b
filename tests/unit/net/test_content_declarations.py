"""Content declarations end to end in one process: a service marks a response as content, its control middleware
strips the mark and declares the body's size; the network's `POST /_harness/content` finds the proxy connection
the service sees the declaration's peer at, and refuses bad declarations with a 4xx that names the problem."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from harness.emulators.content_marks import CONTENT_HEADER, mark
from harness.emulators.control import ControlMiddleware, ControlPlane
from harness.net.proxy_api import create_app


class _Model:
    def reset(self) -> None:
        pass

    def snapshot(self) -> dict[str, Any]:
        return {}


class _Declarations:
    """Stands in for the network: records what the middleware declares."""

    def __init__(self) -> None:
        self.declared: list[tuple[tuple[str, int] | None, int]] = []

    async def declare(self, client: tuple[str, int] | None, size: int) -> None:
        self.declared.append((client, size))


def test_a_marked_response_is_declared_before_it_is_sent_and_the_mark_never_leaves() -> None:
    async def blob(request: Request) -> Response:
        return mark(PlainTextResponse("x" * 1234), 1234)

    async def listing(request: Request) -> Response:
        return PlainTextResponse("<EnumerationResults/>")

    declarations = _Declarations()
    control = ControlPlane("storage", _Model(), content=declarations)  # type: ignore[arg-type]
    app = Starlette(routes=[Route("/blob", blob), Route("/list", listing)],
                    middleware=[Middleware(ControlMiddleware, control=control)])
    with TestClient(app) as client:
        answer = client.get("/blob")
        assert answer.status_code == 200 and len(answer.content) == 1234
        assert CONTENT_HEADER not in answer.headers
        assert client.get("/list").status_code == 200
    assert declarations.declared == [(("testclient", 50000), 1234)]


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        assert isinstance(self.server, _Upstream)
        self.request.recv(1)  # a byte through the proxy: both of its ends are up
        self.server.peers.append(f"{self.client_address[0]}:{self.client_address[1]}")
        self.server.seen.set()
        self.request.recv(1)


class _Upstream(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Echo)
        self.peers: list[str] = []
        self.seen = threading.Event()


@pytest.fixture(scope="module")
def network() -> Iterator[tuple[TestClient, _Upstream, int]]:
    upstream = _Upstream()
    threading.Thread(target=upstream.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    proxies = [{"name": "storage", "upstream": f"127.0.0.1:{upstream.server_address[1]}"}]
    app = create_app({"seed": 0, "proxies": proxies})
    with TestClient(app) as client:
        port = app.state.network.get("storage").port
        yield client, upstream, port
        app.state.network.stop()
    upstream.shutdown()
    upstream.server_close()


def test_a_declaration_names_the_proxy_that_carries_the_connection(network: tuple[TestClient, _Upstream, int]) -> None:
    client, upstream, port = network
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"?")
        assert upstream.seen.wait(5)
        peer = upstream.peers[-1]
        answer = client.post("/_harness/content", json={"peer": peer, "bytes": 640_000})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"proxy": "storage", "peer": peer, "bytes": 640_000}


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"bytes": 10}, 400, "'peer' must be the address"),
    ({"peer": "", "bytes": 10}, 400, "'peer' must be the address"),
    ({"peer": "127.0.0.1:1", "bytes": "10"}, 400, "'bytes' must be a whole number"),
    ({"peer": "127.0.0.1:1", "bytes": -1}, 400, "'bytes' must be a whole number"),
    ({"peer": "127.0.0.1:1", "bytes": True}, 400, "'bytes' must be a whole number"),
    (["127.0.0.1:1", 10], 400, "must be a JSON object"),
    ({"peer": "127.0.0.1:1", "bytes": 10}, 404, "no proxy has a connection to its service from 127.0.0.1:1"),
], ids=["no-peer", "empty-peer", "bytes-text", "bytes-negative", "bytes-bool", "array", "unknown-peer"])
def test_bad_declarations_are_refused_naming_the_problem(network: tuple[TestClient, _Upstream, int], body: Any,
                                                         status: int, words: str) -> None:
    answer = network[0].post("/_harness/content", json=body)
    assert answer.status_code == status
    assert words in answer.json()["error"]

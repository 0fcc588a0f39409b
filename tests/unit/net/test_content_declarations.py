"""Content declarations end to end in one process: a service marks a response as content, its control middleware
strips the mark and declares the body's size; the network's `POST /_harness/content` finds the proxy connection
the declaration names by both its ends, and refuses bad declarations with a 4xx that names the problem."""

from __future__ import annotations

import queue
import socket
import socketserver
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from harness.emulators.network.app import create_app
from harness.service.configs import NetworkServiceConfig
from harness.service.content_marks import CONTENT_HEADER, mark
from harness.service.control import ControlMiddleware, ControlPlane
from tests.unit.net.proxy_upstream import serving


class _Model:
    def reset(self) -> None:
        pass

    def snapshot(self) -> dict[str, Any]:
        return {}


class _Declarations:
    """Stands in for the network: records what the middleware declares."""

    def __init__(self) -> None:
        self.declared: list[tuple[tuple[str, int] | None, tuple[str, int] | None, int]] = []

    async def declare(self, client: tuple[str, int] | None, server: tuple[str, int] | None, size: int) -> None:
        # Starlette's test client gives the server end as a list, uvicorn as a tuple.
        self.declared.append((client, None if server is None else (server[0], server[1]), size))


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
    assert declarations.declared == [(("testclient", 50000), ("testserver", 80), 1234)]


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        assert isinstance(self.server, _Upstream)
        self.request.recv(1)  # a byte through the proxy: both of its ends are up
        self.server.peers.put(f"{self.client_address[0]}:{self.client_address[1]}")
        self.request.recv(1)


class _Upstream(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Echo)
        self.peers: queue.Queue[str] = queue.Queue()  # each connection's client address, as the service sees it

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


@dataclass
class _Network:
    client: TestClient
    services: dict[str, _Upstream]  # proxy name: the service behind it
    ports: dict[str, int]  # proxy name: where it listens

    @contextmanager
    def connection(self, proxy: str) -> Iterator[str]:
        """A connection through `proxy`, open for the block; the address its service sees it from."""
        with socket.create_connection(("127.0.0.1", self.ports[proxy]), timeout=5) as sock:
            sock.sendall(b"?")
            yield self.services[proxy].peers.get(timeout=5)


@pytest.fixture(scope="module")
def network() -> Iterator[_Network]:
    services = {"cmg": _Upstream(), "storage": _Upstream()}
    app = create_app(NetworkServiceConfig.from_json({"seed": 0, "proxies": [{"name": name, "upstream": service.address}
                                             for name, service in services.items()]}))
    with serving(services["cmg"]), serving(services["storage"]), TestClient(app) as client:
        yield _Network(client, services, {name: app.state.network.get(name).port for name in services})
        app.state.network.stop()


def test_a_declaration_names_the_proxy_that_carries_the_connection(network: _Network) -> None:
    storage = network.services["storage"].address
    with network.connection("cmg"), network.connection("storage") as peer:
        answer = network.client.post("/_harness/content", json={"peer": peer, "service": storage, "bytes": 640_000})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"proxy": "storage", "peer": peer, "service": storage, "bytes": 640_000}


def test_a_connection_is_named_by_both_its_ends(network: _Network) -> None:
    """The kernel gives one local port to connections towards different services at the same time, so the
    address a service sees a proxy at is not enough: a declaration for the CMG's connection from the same port as
    the storage's must not land on the storage's connection (its content would then pass as protocol bytes)."""
    cmg = network.services["cmg"].address
    with network.connection("storage") as storage_peer, network.connection("cmg") as cmg_peer:
        answer = network.client.post("/_harness/content", json={"peer": storage_peer, "service": cmg, "bytes": 10})
        if cmg_peer == storage_peer:  # the kernel happened to reuse the port: the declaration is the CMG's
            assert answer.json()["proxy"] == "cmg"
        else:
            assert answer.status_code == 404, answer.text
            assert f"no proxy has a connection from {storage_peer} to its service at {cmg}" in answer.json()["error"]


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"service": "127.0.0.1:2", "bytes": 10}, 400, "'peer' must be the address"),
    ({"peer": "", "service": "127.0.0.1:2", "bytes": 10}, 400, "'peer' must be the address"),
    ({"peer": "127.0.0.1:1", "bytes": 10}, 400, "'service' must be the address"),
    ({"peer": "127.0.0.1:1", "service": 2, "bytes": 10}, 400, "'service' must be the address"),
    ({"peer": "127.0.0.1:1", "service": "127.0.0.1:2", "bytes": "10"}, 400, "'bytes' must be a whole number"),
    ({"peer": "127.0.0.1:1", "service": "127.0.0.1:2", "bytes": -1}, 400, "'bytes' must be a whole number"),
    ({"peer": "127.0.0.1:1", "service": "127.0.0.1:2", "bytes": True}, 400, "'bytes' must be a whole number"),
    (["127.0.0.1:1", 10], 400, "must be a JSON object"),
    ({"peer": "127.0.0.1:1", "service": "127.0.0.1:2", "bytes": 10}, 404,
     "no proxy has a connection from 127.0.0.1:1 to its service at 127.0.0.1:2"),
], ids=["no-peer", "empty-peer", "no-service", "service-number", "bytes-text", "bytes-negative", "bytes-bool",
        "array", "unknown-connection"])
def test_bad_declarations_are_refused_naming_the_problem(network: _Network, body: Any, status: int,
                                                         words: str) -> None:
    answer = network.client.post("/_harness/content", json=body)
    assert answer.status_code == status
    assert words in answer.json()["error"]

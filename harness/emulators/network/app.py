"""The network between clients and services, as a process: one FaultProxy per service behind Toxiproxy's HTTP API.

    GET    /version                                   "2.12.0-cmg-harness"
    GET    /proxies                                   {name: proxy}
    POST   /proxies                                   create {name, listen, upstream, enabled}
    POST   /reset                                     every proxy enabled, no toxics, seeds restarted
    GET    /proxies/{proxy}                           the proxy with its toxics
    POST   /proxies/{proxy}                           update {enabled}: false is "down"
    DELETE /proxies/{proxy}
    GET    /proxies/{proxy}/toxics                    [toxic]
    POST   /proxies/{proxy}/toxics                    add {name, type, stream, toxicity, attributes}
    GET    /proxies/{proxy}/toxics/{toxic}
    POST   /proxies/{proxy}/toxics/{toxic}            update {attributes, toxicity}
    DELETE /proxies/{proxy}/toxics/{toxic}

    POST   /_harness/content                          {peer: "127.0.0.1:P", service: "127.0.0.1:S", bytes: N}:
                                                      the next N bytes the service at S sends to P are content

These are Toxiproxy's routes, bodies and error shape (`{"error": …, "status": …}`), so its clients (and the
harness's own driver, `harness.drivers.network`) work against a real Toxiproxy as well. The harness control API
(`/_harness/health`, `/_harness/reset`, …) is served beside it; its reset is Toxiproxy's.

Bandwidth toxics weigh model bytes, as the scenarios speak: in an environment at scale S a physical byte of
content stands for S model bytes, and a TLS handshake or an HTTP header only for itself. The proxy cannot tell
them apart in a TLS stream, so a service that sends content (storage's blobs, a DP's files) declares it first,
naming the connection by both its ends: the address it sees the proxy's end at, and its own (a local port alone
is not enough: the kernel hands the same one to connections towards different services at once). Every other
byte weighs 1/S. A Toxiproxy client
that declares nothing sees Toxiproxy's behaviour at scale 1.

The environment binds each proxy's listening socket and hands the process its file descriptor (`listen_fd`),
as it does for the services, so every public port is known before any process starts.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.clock.authority import Authority
from harness.clock.model_clock import ModelClock
from harness.clock.settle import Report, SocketReport
from harness.net.proxy import FaultProxy, ProxyTime
from harness.service.app import service_app
from harness.service.configs import ConfigError, Listener, NetworkServiceConfig
from harness.service.control import ControlPlane, HttpError, read_json

VERSION = "2.12.0-cmg-harness"  # the Toxiproxy API version whose shapes this follows


class ProxyError(Exception):
    """Answered in Toxiproxy's error shape."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# What a direction may hold on a virtual clock before it stops reading: more than any transfer of the suite
# (a 3.2 GB package at scale 250 is 12.8 MB), so the proxy never leaves bytes in the kernel (see ProxyTime).
VIRTUAL_HOLD_LIMIT = 256 * 2**20


# Shaped bytes leave in pieces that stand for this much content on a virtual clock: 5.4 model seconds at
# 100 Mbit/s, 0.5 at 1 Gbit/s. Each piece is one wake-up, and so one settle of the world; a transfer's last byte
# leaves when the model says whatever the piece size, which sets only how finely the bytes before it trickle in.
# At scale 5000 a piece is 13 KiB of the stream, at scale 250 256 KiB: a 3.2 GB package is 48 pieces at both.
VIRTUAL_PIECE_MODEL_BYTES = 64 * 2**20


class VirtualProxyTime(ProxyTime):
    """The toxics' clock on a virtual clock: model time / scale, and each wait a holder's at the authority (in this
    process) for the model seconds it stands for."""

    catch_up = 0.0
    quantum = None
    hold_limit = VIRTUAL_HOLD_LIMIT
    closes_on_reset = True

    def __init__(self, authority: Authority, clock: ModelClock) -> None:
        super().__init__(protocol_weight=1 / clock.scale.factor)
        self._authority = authority
        self._clock = clock
        self._seen: dict[str, int] = {}  # holder -> wake-ups it has had; a holder is busy until it has its last
        self.stream_quantum = clock.scale.physical_bytes(VIRTUAL_PIECE_MODEL_BYTES)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._clock.physical_now()

    async def sleep(self, holder: str, seconds: float) -> None:
        if seconds > 0:
            seen = await self._authority.hold(holder, self._clock.scale.model_seconds(seconds))
            with self._lock:
                self._seen[holder] = seen

    async def sleep_until(self, holder: str, when: float) -> None:
        until = round(self._clock.scale.model_seconds(when) * 1_000_000)
        if until > round(self._clock.seconds() * 1_000_000):
            seen = await self._authority.hold(holder, 0.0, until_us=until)
            with self._lock:
                self._seen[holder] = seen

    def done(self, holder: str) -> None:
        with self._lock:
            self._seen.pop(holder, None)
        self._authority.leave(holder)  # also when its first wait was cut short: it joined with that wait

    def holders(self) -> dict[str, int]:
        """Every holder joined at the authority, with the wake-ups it has seen (for the network's report)."""
        with self._lock:
            return dict(self._seen)


class Network:
    """The proxies of one environment; the ServiceModel of the network process's control plane."""

    def __init__(self, seed: int = 0, time: ProxyTime | None = None) -> None:
        self.seed = seed
        self.time = time
        self._proxies: dict[str, FaultProxy] = {}
        self._lock = threading.Lock()

    def add(self, name: str, upstream: str, *, listen: str = "127.0.0.1:0", listener: socket.socket | None = None,
            enabled: bool = True) -> FaultProxy:
        with self._lock:
            if name in self._proxies:
                raise ProxyError(409, f"proxy {name} already exists")
            try:
                proxy = FaultProxy(name, upstream, listen=listen, listener=listener, enabled=enabled, seed=self.seed,
                                   time=self.time)
            except ValueError as error:
                raise ProxyError(400, str(error)) from None
            self._proxies[name] = proxy.start()
            return proxy

    def get(self, name: str) -> FaultProxy:
        with self._lock:
            if name not in self._proxies:
                raise ProxyError(404, f"proxy not found: {name}")
            return self._proxies[name]

    def remove(self, name: str) -> None:
        self.get(name).stop()
        with self._lock:
            self._proxies.pop(name, None)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._proxies)

    def reset(self) -> None:
        for name in self.names():
            self.get(name).reset()

    def snapshot(self) -> dict[str, Any]:
        return {name: self.get(name).to_json() for name in self.names()}

    def declare_content(self, peer: str, service: str, size: int) -> str | None:
        """The next `size` bytes the service at `service` sends to `peer` (a proxy's end of its upstream
        connection) are content (FaultProxy.declare_content); the name of the proxy that carries them, or None if
        none does."""
        return next((name for name in self.names() if self.get(name).declare_content(peer, service, size)), None)

    def report(self) -> Report:
        """For the virtual clock's authority: what the proxies are doing and their sockets' byte counters."""
        busy: list[str] = []
        sockets: list[SocketReport] = []
        for name in self.names():
            proxy_busy, proxy_sockets = self.get(name).activity()
            busy += proxy_busy
            sockets += [SocketReport(now, reading, pending) for now, reading, pending in proxy_sockets]
        # A holder between its waits is busy only while its proxy's loop has work: taken after the loops' pictures,
        # a holder woken meanwhile shows an older count than the authority's and still counts as busy.
        holders = self.time.holders() if isinstance(self.time, VirtualProxyTime) else {}
        return Report("network", busy=busy, sockets=sockets, waiting=holders)

    def stop(self) -> None:
        for name in self.names():
            self.remove(name)


class _Call:
    """The parts of a request a handler needs, read on the event loop before the handler runs in a thread."""

    def __init__(self, request: Request, body: Any) -> None:
        self.params: dict[str, str] = dict(request.path_params)
        self.body = body

    def object(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise ProxyError(400, "request body must be a JSON object")
        return self.body


Handler = Callable[[Request], Awaitable[Response]]


def _toxiproxy(handler: Callable[[Network, _Call], Any], network: Network, status: int = 200) -> Handler:
    """Runs a blocking handler off the event loop and answers its result, or its error, as Toxiproxy does."""

    async def endpoint(request: Request) -> Response:
        body = await read_json(request) if request.method == "POST" else None
        try:
            result = await run_in_threadpool(handler, network, _Call(request, body))
        except ProxyError as error:
            return JSONResponse({"error": error.message, "status": error.status}, status_code=error.status)
        except ValueError as error:  # a toxic's own validation: names the field
            return JSONResponse({"error": str(error), "status": 400}, status_code=400)
        if result is None:
            return Response(status_code=204)
        return JSONResponse(result, status_code=status)

    return endpoint


def _declare_content(network: Network, call: _Call) -> Any:
    body = call.object()
    peer, service, size = body.get("peer"), body.get("service"), body.get("bytes")
    if not isinstance(peer, str) or not peer:
        raise ProxyError(400, "'peer' must be the address the service sees the connection from, e.g. 127.0.0.1:5123")
    if not isinstance(service, str) or not service:
        raise ProxyError(400, "'service' must be the address the connection came to at the service, "
                              "e.g. 127.0.0.1:8443")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ProxyError(400, f"'bytes' must be a whole number of bytes, 0 or more, not {size!r}")
    name = network.declare_content(peer, service, size)
    if name is None:
        raise ProxyError(404, f"no proxy has a connection from {peer} to its service at {service}")
    return {"proxy": name, "peer": peer, "service": service, "bytes": size}


def _list(network: Network, call: _Call) -> Any:
    return network.snapshot()


def _create(network: Network, call: _Call) -> Any:
    body = call.object()
    for key in ("name", "upstream"):
        if not isinstance(body.get(key), str):
            raise ProxyError(400, f"proxy needs a string {key!r}")
    proxy = network.add(body["name"], body["upstream"], listen=str(body.get("listen", "127.0.0.1:0")),
                        enabled=bool(body.get("enabled", True)))
    return proxy.to_json()


def _show(network: Network, call: _Call) -> Any:
    return network.get(call.params["proxy"]).to_json()


def _update(network: Network, call: _Call) -> Any:
    body, proxy = call.object(), network.get(call.params["proxy"])
    unknown = set(body) - {"name", "enabled", "listen", "upstream"}
    if unknown:
        raise ProxyError(400, f"proxy update: unknown fields {sorted(unknown)}; this proxy takes 'enabled'")
    for key in ("listen", "upstream"):
        if key in body and body[key] != getattr(proxy, key):
            raise ProxyError(400, f"proxy {proxy.name}: {key} cannot change while the environment runs")
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise ProxyError(400, "'enabled' must be true or false")
        if body["enabled"]:
            proxy.enable()
        else:
            proxy.disable()
    return proxy.to_json()


def _delete(network: Network, call: _Call) -> Any:
    network.remove(call.params["proxy"])
    return None


def _toxics(network: Network, call: _Call) -> Any:
    return [t.to_json() for t in network.get(call.params["proxy"]).toxics()]


def _add_toxic(network: Network, call: _Call) -> Any:
    proxy = network.get(call.params["proxy"])
    name = call.object().get("name")
    if isinstance(name, str) and any(t.name == name for t in proxy.toxics()):
        raise ProxyError(409, f"toxic already exists: {name}")
    return proxy.add_toxic(call.object()).to_json()


def _toxic(network: Network, call: _Call) -> Any:
    proxy, name = network.get(call.params["proxy"]), call.params["toxic"]
    for toxic in proxy.toxics():
        if toxic.name == name:
            return toxic.to_json()
    raise ProxyError(404, f"toxic not found: {name}")


def _update_toxic(network: Network, call: _Call) -> Any:
    _toxic(network, call)
    return network.get(call.params["proxy"]).update_toxic(call.params["toxic"], call.object()).to_json()


def _remove_toxic(network: Network, call: _Call) -> Any:
    _toxic(network, call)
    network.get(call.params["proxy"]).remove_toxic(call.params["toxic"])
    return None


def _reset(network: Network, call: _Call) -> Any:
    network.reset()
    return None


def routes(network: Network) -> list[Route]:
    def r(path: str, handler: Callable[[Network, _Call], Any], method: str, status: int = 200) -> Route:
        return Route(path, _toxiproxy(handler, network, status), methods=[method])

    async def version(request: Request) -> Response:
        return Response(VERSION, media_type="text/plain")

    proxy, toxic = "/proxies/{proxy}", "/proxies/{proxy}/toxics/{toxic}"
    return [
        Route("/version", version, methods=["GET"]),
        r("/_harness/content", _declare_content, "POST"),
        r("/proxies", _list, "GET"), r("/proxies", _create, "POST", 201), r("/reset", _reset, "POST"),
        r(proxy, _show, "GET"), r(proxy, _update, "POST"), r(proxy, _delete, "DELETE"),
        r(f"{proxy}/toxics", _toxics, "GET"), r(f"{proxy}/toxics", _add_toxic, "POST"),
        r(toxic, _toxic, "GET"), r(toxic, _update_toxic, "POST"), r(toxic, _remove_toxic, "DELETE"),
    ]


async def _not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": f"{request.method} {request.url.path}: {exc.detail}", "status": exc.status_code},
                        status_code=exc.status_code, headers=dict(exc.headers or {}))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HttpError)
    return JSONResponse({"error": exc.reason, "status": exc.status}, status_code=exc.status)


def create_app(config: NetworkServiceConfig) -> Starlette:
    clock = config.clock
    authority = None
    if clock is not None and clock.virtual is not None:
        if config.authority is None:
            raise ConfigError("network configuration: a virtual clock needs authority (where its actors connect)")
        authority = Authority(_socket(config.authority), clock.virtual.state).start()
    time: ProxyTime | None = None
    if clock is not None:
        time = VirtualProxyTime(authority, clock) if authority is not None else \
            ProxyTime(protocol_weight=1 / clock.scale.factor)
    network = Network(seed=config.seed, time=time)
    for proxy in config.proxies:
        network.add(proxy.name, proxy.upstream, listen=proxy.listen,
                    listener=socket.socket(fileno=proxy.listen_fd) if proxy.listen_fd is not None else None)
    if authority is not None:
        authority.add_reporter("network", network.report)
    control = ControlPlane("network", network, clock=clock, authority=authority)
    # Toxiproxy's error shape ({"error", "status"}) for its clients, on both kinds of error.
    return service_app(control, routes(network), network=network,
                       errors={HTTPException: _not_found, HttpError: _http_error})


def _socket(listener: Listener) -> socket.socket:
    """The listening socket the environment bound and handed over (`listen_fd`), or one bound here."""
    return socket.socket(fileno=listener.listen_fd) if listener.listen_fd is not None else _bound(listener.listen)


def _bound(address: str) -> socket.socket:
    host, _, port = address.rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(128)
    return sock

"""The environment's resolver: realistic host names reached at loopback addresses, TLS checking the name.

httpx has no resolver hook, so a wrapping transport rewrites the request URL to the mapped address, keeps the
`Host` header and sets the `sni_hostname` extension to the name, so the certificate is verified for the name.

Each name gets its own inner transport (connection pool). One shared pool is keyed by address and port, so a
kept-alive connection whose certificate was checked for one name would be reused for another name on the same
port, and a certificate that does not cover that second name would be silently accepted.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
from collections.abc import Mapping
from typing import Any

import httpcore
import httpx

# WinINet's ERROR_INTERNET_NAME_NOT_RESOLVED, what a ConfigMgr client logs for a name it cannot resolve.
NAME_NOT_RESOLVED_CODE = "0x80072EE7"


class NameNotResolved(httpx.ConnectError):
    def __init__(self, host: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(
            f"The server name or address could not be resolved: {host} ({NAME_NOT_RESOLVED_CODE})",
            request=request,
        )
        self.host = host


class _HostMap:
    """Lower-case host name → IP address; IP-literal hosts resolve to themselves."""

    def __init__(self, hosts: Mapping[str, str]) -> None:
        self._hosts = {_normalise(name): _checked_address(name, address) for name, address in hosts.items()}

    def route(self, request: httpx.Request) -> tuple[str, httpx.Request]:
        """The pool key (the name, or the IP literal) and the request to send to the address."""
        host = _normalise(request.url.host)
        if _is_ip_literal(host):
            return host, request
        address = self._hosts.get(host)
        if address is None:
            raise NameNotResolved(host, request=request)
        return host, _rewritten(request, host, address)


class ResolvingTransport(httpx.BaseTransport):
    """`network_backend`: httpcore's network backend for the connections (the client agent's marks its runs'
    reads for the virtual clock); such connections are kept alive however long they idle in real time, so
    whether a request opens a new one never depends on how fast the machine is."""

    def __init__(
        self, hosts: Mapping[str, str], ssl_context: ssl.SSLContext,
        network_backend: httpcore.NetworkBackend | None = None, **transport_kwargs: Any
    ) -> None:
        self._hosts = _HostMap(hosts)
        self._ssl_context = ssl_context
        self._network_backend = network_backend
        self._transport_kwargs = transport_kwargs
        self._transports: dict[str, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key, routed = self._hosts.route(request)
        return self._transport_for(key).handle_request(routed)

    def close(self) -> None:
        with self._lock:
            transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            transport.close()

    def _transport_for(self, key: str) -> httpx.HTTPTransport:
        with self._lock:
            transport = self._transports.get(key)
            if transport is None:
                transport = httpx.HTTPTransport(verify=self._ssl_context, **self._transport_kwargs)
                if self._network_backend is not None:
                    # httpx 0.28 (pinned) has no parameter for httpcore's backend: the pool is made again with it,
                    # with httpx's own limits.
                    limits = httpx.Limits()
                    transport._pool = httpcore.ConnectionPool(
                        ssl_context=self._ssl_context, max_connections=limits.max_connections,
                        max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=None,
                        network_backend=self._network_backend)
                self._transports[key] = transport
            return transport


class AsyncResolvingTransport(httpx.AsyncBaseTransport):
    """The async twin of `ResolvingTransport`, for servers that forward requests (CMG → management point)."""

    def __init__(
        self, hosts: Mapping[str, str], ssl_context: ssl.SSLContext, **transport_kwargs: Any
    ) -> None:
        self._hosts = _HostMap(hosts)
        self._ssl_context = ssl_context
        self._transport_kwargs = transport_kwargs
        self._transports: dict[str, httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key, routed = self._hosts.route(request)
        return await self._transport_for(key).handle_async_request(routed)

    async def aclose(self) -> None:
        transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            await transport.aclose()

    def _transport_for(self, key: str) -> httpx.AsyncHTTPTransport:
        # No lock: pools are created on the event loop's thread, between awaits.
        transport = self._transports.get(key)
        if transport is None:
            transport = httpx.AsyncHTTPTransport(verify=self._ssl_context, **self._transport_kwargs)
            self._transports[key] = transport
        return transport


def _rewritten(request: httpx.Request, name: str, address: str) -> httpx.Request:
    # Passing `stream=` keeps the headers exactly as they are, so `Host` still carries the name.
    return httpx.Request(
        request.method,
        request.url.copy_with(host=address),
        headers=request.headers,
        stream=request.stream,
        extensions={**request.extensions, "sni_hostname": name},
    )


def _normalise(host: str) -> str:
    return host.lower().rstrip(".")


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _checked_address(name: str, address: str) -> str:
    if not _is_ip_literal(address):
        raise ValueError(f"host map entry {name!r} → {address!r}: the address must be an IP literal")
    return address

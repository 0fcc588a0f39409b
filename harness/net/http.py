"""The one place HTTP clients are built: the environment's resolver, the test CA, timeouts that always apply.

Redirects are never followed: ConfigMgr clients and the emulators treat a redirect as an answer to examine.
Environment proxies and `.netrc` are ignored (`trust_env=False`), so traffic stays on the mapped addresses.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import Callable, Mapping
from pathlib import Path

import httpcore
import httpx

from harness.net.resolver import AsyncResolvingTransport, ResolvingTransport
from harness.net.tls import ServerCert, client_ssl_context


def make_client(
    hosts: Mapping[str, str],
    ca_cert_path: Path,
    *,
    timeout: float = 30.0,
    headers: Mapping[str, str] | None = None,
    cert: tuple[Path, Path] | None = None,
    wrap: Callable[[httpx.BaseTransport], httpx.BaseTransport] | None = None,
    network_backend: httpcore.NetworkBackend | None = None,
) -> httpx.Client:
    """A client that resolves names through `hosts`; `cert` is (certificate PEM, key PEM) for mutual TLS;
    `wrap` puts a layer of the caller's between the client and the network (a client's link, for one);
    `network_backend` is httpcore's, under TLS (the client agent's marks reads for the virtual clock)."""
    transport: httpx.BaseTransport = ResolvingTransport(hosts, _ssl_context(ca_cert_path, cert),
                                                        network_backend=network_backend)
    return httpx.Client(
        transport=wrap(transport) if wrap else transport,
        timeout=_timeout(timeout),
        headers=headers,
        follow_redirects=False,
        trust_env=False,
    )


def make_async_client(
    hosts: Mapping[str, str],
    ca_cert_path: Path,
    *,
    timeout: float = 30.0,
    headers: Mapping[str, str] | None = None,
    cert: tuple[Path, Path] | None = None,
) -> httpx.AsyncClient:
    """The async twin of `make_client`."""
    return httpx.AsyncClient(
        transport=AsyncResolvingTransport(hosts, _ssl_context(ca_cert_path, cert)),
        timeout=_timeout(timeout),
        headers=headers,
        follow_redirects=False,
        trust_env=False,
    )


def _ssl_context(ca_cert_path: Path, cert: tuple[Path, Path] | None) -> ssl.SSLContext:
    client_cert = ServerCert(cert_path=cert[0], key_path=cert[1]) if cert is not None else None
    return client_ssl_context(ca_cert_path, client_cert=client_cert)


def _timeout(seconds: float) -> httpx.Timeout:
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"timeout must be a positive number of seconds, not {seconds!r}")
    return httpx.Timeout(seconds)

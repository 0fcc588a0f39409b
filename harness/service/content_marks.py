"""Telling the network which bytes of an answer are content, so its bandwidth toxics weigh model bytes.

In an environment at scale S a physical byte of content (a blob, a DP file) stands for S model bytes, and every
other byte (a TLS handshake, headers, an XML reply) only for itself. The network's proxies pace TLS streams they
cannot read, so a service whose answer carries content marks the response (`mark`); before the answer's first
byte leaves, `ControlMiddleware` strips the mark and declares the body's size to the network for the connection
the answer goes out on, named by both its ends as the service sees them: the proxy's address and the service's
own (`POST /_harness/content` on the network service, harness/emulators/network/app.py). The proxy's end alone would be
ambiguous: the kernel gives one local port to connections towards different services at the same time. The
network answers before the service writes a byte, so the proxy knows what is content before any of it arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import httpx
from starlette.responses import Response

from harness.net.http import make_async_client
from harness.service.configs import ContentDeclarations

CONTENT_HEADER = "x-harness-content-bytes"  # the mark; never sent
CONTENT_HEADER_RAW = CONTENT_HEADER.encode("latin-1")
_log = logging.getLogger(__name__)


def mark(response: Response, size: int) -> Response:
    """The response's body is `size` bytes of content."""
    response.headers[CONTENT_HEADER] = str(size)
    return response


class ContentDeclarer:
    """Declares content to the network process's control API at `url` (names resolved through `hosts`)."""

    def __init__(self, url: str, hosts: Mapping[str, str], ca_cert: Path) -> None:
        self._url = f"{url.rstrip('/')}/_harness/content"
        self._client = make_async_client(hosts, ca_cert, timeout=10.0)

    @classmethod
    def from_config(cls, network: ContentDeclarations | None, ca_cert: Path) -> ContentDeclarer | None:
        """None without a network (a service on its own, with no network in front of it)."""
        return cls(network.url, network.hosts, ca_cert) if network is not None else None

    async def declare(self, client: tuple[str, int] | None, server: tuple[str, int] | None, size: int) -> None:
        """`size` bytes of content go from `server` to `client` (the ASGI scope's two ends) next."""
        if client is None or server is None or size <= 0:
            return
        peer, service = f"{client[0]}:{client[1]}", f"{server[0]}:{server[1]}"
        try:
            reply = await self._client.post(self._url, json={"peer": peer, "service": service, "bytes": size})
        except httpx.HTTPError as error:
            _log.warning("could not declare %d bytes of content to %s at %s: %s", size, peer, self._url, error)
            return
        # 404: no proxy carries this connection (a caller that came straight to the service): nothing paces it.
        if reply.status_code not in (200, 404):
            _log.warning("the network refused a declaration of %d bytes of content to %s: %s %s", size, peer,
                         reply.status_code, reply.text)


def take_mark(headers: list[tuple[bytes, bytes]]) -> tuple[list[tuple[bytes, bytes]], int | None]:
    """The headers without the mark, and the content size it carried (None when unmarked)."""
    size = next((int(value) for key, value in headers if key.lower() == CONTENT_HEADER_RAW), None)
    if size is None:
        return headers, None
    return [(key, value) for key, value in headers if key.lower() != CONTENT_HEADER_RAW], size

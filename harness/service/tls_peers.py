"""Which client certificate each TLS connection presented, for apps behind uvicorn.

uvicorn does not put the peer certificate into the ASGI scope, so this HTTP protocol records it per
connection (keyed by the client's address, which the scope does carry). The CMG uses it to tell PKI
clients on its MutualAuth path apart from anonymous ones; the TLS layer has already verified the
chain against the test CA (CERT_OPTIONAL: a client without a certificate still connects).
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

from harness.clock.participant import ACTIVITY
from harness.service.http_sys import HttpSysH11Protocol

_PEERS: dict[tuple[str, int], dict[str, Any] | None] = {}


class TrackedH11Protocol(HttpSysH11Protocol):
    """uvicorn's h11 protocol (answering what it cannot read as HTTP.sys does), telling the process's activity
    (harness.clock.participant) which connections it has: the virtual clock's authority asks for their byte
    counters before it moves time past a call."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ACTIVITY.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        ACTIVITY.connection_lost(self.transport)
        super().connection_lost(exc)


class PeerCertificateH11Protocol(TrackedH11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        peer = transport.get_extra_info("peername")
        if peer is not None:
            _PEERS[(peer[0], peer[1])] = ssl_object.getpeercert() if ssl_object is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.client is not None:
            _PEERS.pop((self.client[0], self.client[1]), None)
        super().connection_lost(exc)


def client_common_name(scope: MutableMapping[str, Any]) -> str | None:
    """The subject CN of the verified client certificate on this request's connection, if any."""
    client = scope.get("client")
    cert = _PEERS.get((client[0], client[1])) if client else None
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None

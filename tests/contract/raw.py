"""Requests the HTTP client would normalise (`..` segments, odd bytes) sent as is: to an in-process app
(`raw_get`), or as raw bytes over TLS to a running service (`send_raw`)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

MP_FQDN = "cm01.corp.contoso.example"


def raw_get(client: TestClient, path: str, host: str = MP_FQDN) -> tuple[int, bytes]:
    """(status, body) of a GET whose path reaches the app exactly as written."""
    sent: list[dict[str, Any]] = []
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "https",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", host.encode())], "client": ("127.0.0.1", 50000), "server": (host, 443)}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    assert client.portal is not None
    client.portal.call(client.app, scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


BODY_READ_LIMIT = 64 * 1024  # an answer's body is read when it says its length and is no longer than this


@dataclass(frozen=True)
class WireAnswer:
    """What came back on the socket: the status line's code (None: the connection closed without one, or
    with something else), the head as read, and the body when it is short and says its length."""

    status: int | None
    head: bytes
    body: bytes
    seconds: float


async def _exchange(address: tuple[str, int], hostname: str, ca: Path, request: bytes) -> bytes:
    """The answer (head, and a short body), read while the request is still being written: a service may answer
    a big body before it has read it, and a sender that waits for its own write would never see that answer."""
    context = ssl.create_default_context(cafile=str(ca))
    reader, writer = await asyncio.open_connection(*address, ssl=context, server_hostname=hostname)
    try:
        writer.write(request)
        sending = asyncio.ensure_future(writer.drain())
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            return head + await _body(reader, head, request)
        except asyncio.IncompleteReadError as error:  # closed early: whatever came before the close
            return error.partial
        finally:
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await sending
    except (ConnectionError, ssl.SSLError):
        return b""
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


async def _body(reader: asyncio.StreamReader, head: bytes, request: bytes) -> bytes:
    length = re.search(rb"\r\ncontent-length: *(\d+)\r\n", head, re.IGNORECASE)
    if request.startswith(b"HEAD ") or length is None or int(length[1]) > BODY_READ_LIMIT:
        return b""
    try:
        return await reader.readexactly(int(length[1]))
    except asyncio.IncompleteReadError as error:  # cut short: what came
        return error.partial


def send_raw(address: tuple[str, int], hostname: str, ca: Path, request: bytes, timeout: float) -> WireAnswer:
    """A running service's answer to `request`, bytes exactly as given, over TLS to `address`
    (SNI and certificate check for `hostname`). Raises TimeoutError if no head (or close) came within `timeout`
    seconds, connecting and the TLS handshake included."""
    started = time.monotonic()
    answer = asyncio.run(asyncio.wait_for(_exchange(address, hostname, ca, request), timeout))
    head, _, body = answer.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", head)
    return WireAnswer(int(match[1]) if match else None, head, body, time.monotonic() - started)

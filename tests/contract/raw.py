"""Requests the HTTP client would normalise (`..` segments, odd bytes) sent to an in-process app as is."""

from __future__ import annotations

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

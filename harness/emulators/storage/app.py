"""Azure storage's front: every request passed to Azurite as sent, with the control API's HTTP-level faults.

Azurite is the storage (real SAS checks, ranges, blob semantics); it has no way to throttle, cut or corrupt an
answer on demand. This front sits between the network's proxy and Azurite and adds exactly that — storage
throttling (503 ServerBusy, spec §4.2), truncated and corrupted blob downloads, slow answers — through the
same fault API as every other service, and a journal of which blobs were read and with which ranges.

It adds nothing else: headers (Host included, so the account is still read from the name), bodies and
Azurite's own answers pass through unchanged, streamed both ways.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from harness.clock.model_clock import ModelClock
from harness.emulators.control import ControlMiddleware, ControlPlane, HttpError, http_error_handler
from harness.net.http import make_async_client

# Azure's error codes for the statuses a fault answers [INFERENCE: the storage REST API's common codes].
ERROR_CODES = {400: "InvalidInput", 403: "AuthenticationFailed", 404: "BlobNotFound", 409: "LeaseAlreadyPresent",
               412: "ConditionNotMet", 416: "InvalidRange", 429: "ServerBusy", 500: "InternalError",
               503: "ServerBusy"}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"}


class StorageFrontModel:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.forwarded = 0

    def snapshot(self) -> dict[str, Any]:
        return {"forwarded": self.forwarded}


def azure_error(status: int, reason: str) -> Response:
    """A status fault worded as Azure storage words its errors: XML body and x-ms-error-code."""
    code = ERROR_CODES.get(status, "InternalError")
    request_id = str(uuid.uuid4())
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    body = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{escape(reason)}\n'
            f"RequestId:{request_id}\nTime:{now}</Message></Error>")
    return Response(body, status_code=status, media_type="application/xml",
                    headers={"x-ms-error-code": code, "x-ms-request-id": request_id})


class StorageFront:
    def __init__(self, model: StorageFrontModel, upstream: str, client: httpx.AsyncClient) -> None:
        self.model = model
        self.upstream = upstream.rstrip("/")
        self.client = client

    async def forward(self, request: Request) -> Response:
        url = httpx.URL(f"{self.upstream}{request.url.path}", query=request.url.query.encode("latin-1"))
        headers = [(k, v) for k, v in request.headers.raw if k.decode("latin-1").lower() not in _HOP_BY_HOP]
        outgoing = self.client.build_request(request.method, url, headers=headers, content=request.stream())
        try:
            reply = await self.client.send(outgoing, stream=True)
        except httpx.HTTPError as error:
            raise HttpError(502, f"Azurite did not answer the storage front: {error}") from None
        self.model.forwarded += 1
        out = [(k, v) for k, v in reply.headers.raw if k.decode("latin-1").lower() not in _HOP_BY_HOP]
        return StreamingResponse(reply.aiter_raw(), status_code=reply.status_code, headers=_headers(out),
                                 background=BackgroundTask(reply.aclose))


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    # Starlette takes a mapping; Azurite sends no header twice that a client reads.
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in raw}


def create_app(config: dict[str, Any]) -> Starlette:
    """config: {"tls": {...}, "clock": …, "upstream": "https://127.0.0.1:<azurite port>"}."""
    clock = ModelClock.from_json(config["clock"])
    model = StorageFrontModel()
    control = ControlPlane("storage", model, clock=clock, identity_headers=[], error_renderer=azure_error)
    # Azurite's certificate names 127.0.0.1, so the front reaches it by address; the Host header still
    # carries the account's name, which is how Azurite tells the accounts apart.
    client = make_async_client({}, Path(config["tls"]["ca"]), timeout=60.0)
    front = StorageFront(model, str(config["upstream"]), client)
    methods = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"]
    app = Starlette(routes=[*control.routes(), Route("/{path:path}", front.forward, methods=methods)],
                    exception_handlers={HttpError: http_error_handler},
                    middleware=[Middleware(ControlMiddleware, control=control)])
    app.state.control = control
    return app

"""Azure storage's front: every request passed to Azurite, after Azure's SAS check in model time, with the
control API's HTTP-level faults.

Azurite is the storage (ranges, blob semantics, permissions), but it checks a SAS's window against the machine's
real clock, and it has no way to throttle, cut or corrupt an answer on demand. This front sits between the
network's proxy and Azurite and adds exactly that: the SAS check the way Azure storage makes it, in model time
(`sas.py`; Azurite then gets the request with a SAS valid in real time), storage throttling (503 ServerBusy,
B-47), truncated and corrupted blob downloads, slow answers — through the same fault API as every other
service — and a journal of which blobs were read and with which ranges.

Apart from a SAS's window and signature it changes nothing: headers (Host included, so the account is still read
from the name), bodies and Azurite's own answers pass through unchanged, streamed both ways. A request without a
SAS (one signed with a SharedKey header) passes exactly as it came.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Scope

from harness.clock.model_clock import ModelClock
from harness.emulators.storage.fleet import EgressReport, FleetCounter
from harness.emulators.storage.sas import AUTHENTICATION_FAILED, SasGate, SasRefused
from harness.net.http import make_async_client
from harness.service.app import service_app
from harness.service.configs import StorageServiceConfig
from harness.service.content_marks import ContentDeclarer, mark
from harness.service.control import JOURNAL_NOTE, ControlPlane, HttpError
from harness.service.http_sys import head_refusal, header_safe, refusal_response, restricted_character

# Azure's error codes for the statuses a fault answers [INFERENCE: the storage REST API's common codes].
ERROR_CODES = {400: "InvalidInput", 403: "AuthenticationFailed", 404: "BlobNotFound", 409: "LeaseAlreadyPresent",
               412: "ConditionNotMet", 416: "InvalidRange", 429: "ServerBusy", 500: "InternalError",
               503: "ServerBusy"}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"}
INVALID_URI = "The requested URI does not represent any resource on the server."
MALFORMED_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2}).{0,2}")


class StorageFrontModel:
    def __init__(self, fleet: FleetCounter) -> None:
        self.fleet = fleet
        self.reset()

    def reset(self) -> None:
        self.fleet.reset()
        self.forwarded = 0
        self.sas_admitted = 0  # requests whose SAS held in model time, passed on with a real-time one
        self.sas_refused = 0  # requests answered 403 AuthenticationFailed by the front's SAS check

    def snapshot(self) -> dict[str, Any]:
        return {"forwarded": self.forwarded, "sas_admitted": self.sas_admitted, "sas_refused": self.sas_refused}


def azure_error(status: int, reason: str, *, detail: str | None = None, now: datetime | None = None,
                code: str | None = None) -> Response:
    """An error worded as Azure storage words its errors: XML body and x-ms-error-code; `detail` is an
    AuthenticationErrorDetail, `now` the time the message gives (the machine's clock by default), `code` the
    error code when the status alone does not say it."""
    code = code or ERROR_CODES.get(status, "InternalError")
    request_id = str(uuid.uuid4())
    when = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    extra = "" if detail is None else f"<AuthenticationErrorDetail>{escape(detail)}</AuthenticationErrorDetail>"
    body = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{escape(reason)}\n'
            f"RequestId:{request_id}\nTime:{when}</Message>{extra}</Error>")
    return Response(body, status_code=status, media_type="application/xml",
                    headers={"x-ms-error-code": code, "x-ms-request-id": request_id})


def storage_url_check(scope: Scope) -> Response | None:
    """HTTP.sys's limits on the head, then Azure's own refusal of a path that cannot name a resource: a control
    character (HTTP.sys's rule, worded as Azure words its errors) or a malformed escape, which Azurite answers 500
    and Azure storage 400 InvalidUri:
    https://learn.microsoft.com/en-us/rest/api/storageservices/common-rest-api-error-codes
    [INFERENCE: that these are the URLs InvalidUri covers; no request filtering of lengths, which Azurite judges.]"""
    refusal = head_refusal(scope)
    if refusal is not None:
        return refusal_response(refusal)
    raw_path = scope.get("raw_path", b"")
    wrong = restricted_character(scope["path"]) or _malformed_escape(raw_path) or _not_utf8(raw_path)
    return None if wrong is None else invalid_uri(f"the URL's path holds {wrong}")


def _malformed_escape(raw_path: bytes) -> str | None:
    match = MALFORMED_ESCAPE.search(raw_path)
    return None if match is None else f"{match[0].decode('latin-1')!r}, a % not followed by two hex digits"


def _not_utf8(raw_path: bytes) -> str | None:
    """Escapes that decode to no UTF-8 text (`%FF`): Azurite's decodeURIComponent throws on them and it answers
    500; Azure names resources in UTF-8 [INFERENCE: and answers InvalidUri, as for any other URL it cannot read]."""
    try:
        urllib.parse.unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError as error:
        return f"escapes that are not UTF-8 ({error.reason} at byte {error.start})"
    return None


def invalid_uri(why: str) -> Response:
    """Azure's 400 InvalidUri, and what was wrong for whoever reads the journal or a capture."""
    response = azure_error(400, INVALID_URI, code="InvalidUri")
    response.headers["X-Harness-Reason"] = header_safe(why)
    return response


class StorageFront:
    def __init__(self, model: StorageFrontModel, upstream: str, client: httpx.AsyncClient, gate: SasGate,
                 clock: ModelClock) -> None:
        self.model = model
        self.upstream = upstream.rstrip("/")
        self.client = client
        self.gate = gate
        self.clock = clock

    async def forward(self, request: Request) -> Response:
        query = request.scope.get("query_string", b"").decode("latin-1")
        try:
            admitted = self.gate.admit(request.headers.get("host", ""), request.scope["path"], query)
        except SasRefused as refusal:
            self.model.sas_refused += 1
            setattr(request.state, JOURNAL_NOTE, f"SAS refused: {refusal.why}")
            # The message's time is model time, as the detail's "Current" is: the world's clock, not the machine's.
            return azure_error(403, AUTHENTICATION_FAILED, detail=refusal.detail, now=self.clock.now())
        if admitted is not None:
            self.model.sas_admitted += 1
            query = admitted
        try:
            url = httpx.URL(f"{self.upstream}{_path_as_sent(request)}", query=query.encode("latin-1"))
        except httpx.InvalidURL as error:  # what storage_url_check lets through must not crash the front either
            return invalid_uri(f"the URL cannot be passed on: {error}")
        headers = [(k, v) for k, v in request.headers.raw if k.decode("latin-1").lower() not in _HOP_BY_HOP]
        outgoing = self.client.build_request(request.method, url, headers=headers, content=request.stream())
        try:
            reply = await self.client.send(outgoing, stream=True)
        except httpx.HTTPError as error:
            raise HttpError(502, f"Azurite did not answer the storage front: {error}") from None
        self.model.forwarded += 1
        out = [(k, v) for k, v in reply.headers.raw if k.decode("latin-1").lower() not in _HOP_BY_HOP]
        response = StreamingResponse(reply.aiter_raw(), status_code=reply.status_code, headers=_headers(out),
                                     background=BackgroundTask(reply.aclose))
        if request.method == "GET" and reply.status_code in (200, 206) and "x-ms-blob-type" in reply.headers:
            length = int(reply.headers.get("content-length", "0"))
            mark(response, length)  # a blob's bytes: content
            response.headers.update(await self.model.fleet.count(request.headers.get("host", ""),
                                                                 request.url.path, request.headers, length))
        return response


def _path_as_sent(request: Request) -> str:
    """The path as the client escaped it: decoded, `/%25` would reach Azurite as `/%`, a malformed URL it answers
    with 500. A proxy passes the escapes on as they came."""
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1") if raw else request.url.path


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    # Starlette takes a mapping; Azurite sends no header twice that a client reads.
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in raw}


def create_app(config: StorageServiceConfig, upstream: httpx.AsyncClient | None = None) -> Starlette:
    """`upstream`: how the front reaches Azurite; by default HTTPS to the configured address."""
    clock = config.model_clock
    egress = config.cmg_egress
    model = StorageFrontModel(FleetCounter(clock, None if egress is None else EgressReport(
        egress.url, egress.hosts, config.ca_path, egress.account)))
    control = ControlPlane("storage", model, clock=clock, identity_headers=[], error_renderer=azure_error,
                           url_check=storage_url_check,
                           content=ContentDeclarer.from_config(config.network, config.ca_path))
    # Azurite's certificate names 127.0.0.1, so the front reaches it by address; the Host header still
    # carries the account's name, which is how Azurite tells the accounts apart.
    client = upstream or make_async_client({}, config.ca_path, timeout=60.0)
    gate = SasGate(config.accounts, clock.now)
    front = StorageFront(model, config.upstream, client, gate, clock)
    methods = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"]
    # Every path is a blob's or a container's: the catch-all route leaves no 404 for the app to answer.
    return service_app(control, [*model.fleet.routes(), Route("/{path:path}", front.forward, methods=methods)])

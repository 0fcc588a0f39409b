"""The cloud management gateway: HTTPS front door for internet clients, and its content service.

    /CCM_Proxy_ServerAuth/<id>/...   token-authenticated traffic, forwarded to the management point
    /CCM_Proxy_MutualAuth/<id>/...   PKI client-certificate traffic (refused without a certificate)
    /downloadrestservice.svc/getcontentxmlsecure?pid=…   content manifest (B-46)

A request without valid credentials is never forwarded to the site (B-44).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from harness.clock.model_clock import ModelClock
from harness.emulators.cmg.content import ContentService
from harness.emulators.cmg.deployment import CmgDeployment
from harness.net.http import make_async_client
from harness.protocol.cmtrace import Severity
from harness.protocol.errors import ProtocolError
from harness.protocol.tokens import TokenError, verify_token
from harness.service.app import service_app
from harness.service.configs import CmgServiceConfig
from harness.service.control import (
    REQUEST_KEY,
    ControlPlane,
    HttpError,
    ServiceLogs,
)
from harness.service.tls_peers import client_common_name

# MP endpoints the CMG forwards, and the token each needs (B-44).
FORWARDED = {"ccm_system_tokenauth/request": "ccm", "CCM_STS": "site",
             "SMS_MP/.sms_pol": "ccm", "SMS_MP/.sms_aut": "ccm"}
# MP endpoints a PKI client reaches through the MutualAuth path (B-44).
MUTUAL_FORWARDED = ("ccm_system/request", "SMS_MP/.sms_pol", "SMS_MP/.sms_aut")
CLIENT_HEADER = "x-ccm-client"
Held = Callable[[float, Request], Awaitable[None]]  # holds a request on the model clock
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "server", "date"}

# The gateway's logs -> the component their lines carry. SMS_CLOUD_PROXYCONNECTOR is the
# documented prefix (B-44); [INFERENCE] the other components are named after their files.
# The CMG connection point is an on-premises site system role in the product, with its own
# SMS_Cloud_ProxyConnector.log; the harness has no process for it, so its hop to the management point,
# and that log, live in the CMG process.
SERVICE_LOG = "CMGService.log"
CONNECTOR_LOG = "SMS_Cloud_ProxyConnector.log"
CONTENT_LOG = "CMGContentService.log"
CMG_LOGS = {SERVICE_LOG: "CMGService", CONNECTOR_LOG: "SMS_CLOUD_PROXYCONNECTOR", CONTENT_LOG: "CMGContentService"}


class CmgModel:
    """Counters the control API exposes, and the deployment (places, egress) requests go through."""

    def __init__(self, cmg_id: str, clock: ModelClock) -> None:
        self.cmg_id = cmg_id
        self.deployment = CmgDeployment(clock)
        self.reset()

    def reset(self) -> None:
        self.forwarded = 0
        self.refused = 0
        self.manifests = 0
        self.deployment.reset()

    def snapshot(self) -> dict[str, Any]:
        return {"cmg_id": self.cmg_id, "forwarded": self.forwarded, "refused": self.refused,
                "manifests": self.manifests, "deployment": self.deployment.snapshot()}


class CmgService:
    def __init__(self, model: CmgModel, mp_url: str, key: bytes, clock: ModelClock,
                 upstream: httpx.AsyncClient, content: ContentService, logs: ServiceLogs, hold: Held) -> None:
        self.model = model
        self._hold = hold
        self.mp_url = mp_url.rstrip("/")
        self.key = key
        self.clock = clock
        self.upstream = upstream
        self.content = content
        self.logs = logs

    async def server_auth(self, request: Request) -> Response:
        started = time.perf_counter()
        with self._refusals_logged(request):
            placed = await self._place(request)
            endpoint = self._endpoint(request)
            self._authenticate(request, FORWARDED[endpoint])
            body = await request.body()
            response = await self._forward(request, endpoint, body)
        self._log_request(request, len(body), len(response.body), started)
        response.headers.update(placed)
        return response

    async def mutual_auth(self, request: Request) -> Response:
        """PKI clients: the TLS layer verified the certificate chain; no certificate, no forwarding."""
        started = time.perf_counter()
        with self._refusals_logged(request):
            placed = await self._place(request)
            identity = client_common_name(request.scope)
            if identity is None:
                self.model.refused += 1
                raise HttpError(403, "CCM_Proxy_MutualAuth needs a PKI client authentication certificate and none "
                                     "was presented; token clients use CCM_Proxy_ServerAuth")
            endpoint = self._endpoint(request, MUTUAL_FORWARDED)
            body = await request.body()
            response = await self._forward(request, endpoint, body, client=identity)
        self._log_request(request, len(body), len(response.body), started)
        response.headers.update(placed)
        return response

    async def _place(self, request: Request) -> dict[str, str]:
        """The request's clients take their places at the CMG (harness/emulators/cmg/deployment.py); the headers
        a fleet's answer carries."""
        headers: dict[str, str] = {}
        await self.model.deployment.answered(request, headers, lambda seconds: self._hold(seconds, request))
        return headers

    def _endpoint(self, request: Request, forwarded: Iterable[str] = FORWARDED) -> str:
        if request.path_params["cmg_id"] != self.model.cmg_id:
            raise HttpError(404, f"no management point with ID {request.path_params['cmg_id']} behind this gateway")
        path = request.path_params["path"]
        for endpoint in forwarded:
            if path.lower() == endpoint.lower():
                return endpoint
        raise HttpError(404, f"the gateway does not forward {path!r}")

    def _authenticate(self, request: Request, kind: str) -> None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            self.model.refused += 1
            raise HttpError(401, f"a {kind} token is required; the request was not forwarded")
        try:
            verify_token(header.removeprefix("Bearer "), self.key, kind=kind, now=self.clock.now())
        except TokenError as error:
            self.model.refused += 1
            raise HttpError(401, f"{kind} token rejected ({error.reason}); the request was not forwarded") from None

    async def _forward(self, request: Request, endpoint: str, body: bytes, client: str | None = None) -> Response:
        url = f"{self.mp_url}/{endpoint}" + (f"?{request.url.query}" if request.url.query else "")
        self.logs.write(CONNECTOR_LOG, f"Switched to internal URL. Replaced '{request.url}' with '{url}'")
        # As bytes: a header value that is not ASCII is the site's to judge, and httpx would refuse the str.
        headers = [(k, v) for k, v in request.headers.raw
                   if k.decode("latin-1").lower() not in (*_HOP_BY_HOP, CLIENT_HEADER)]
        if client is not None:
            # [INFERENCE] how the connection point vouches for a certificate-authenticated client to the
            # MP is not documented; the harness names the certificate's subject in this header.
            headers.append((CLIENT_HEADER.encode(), client.encode("utf-8", "replace")))
        message_id, started = uuid.uuid4(), time.perf_counter()
        try:
            reply = await self.upstream.request(request.method, url, content=body, headers=headers)
        except httpx.HTTPError as error:
            self.logs.write(CONNECTOR_LOG, f"ERROR: MessageID: {message_id} RequestURI: {url} failed: {error}",
                            severity=Severity.ERROR)
            raise HttpError(502, f"the management point did not answer through the gateway: {error}") from None
        self.logs.write(CONNECTOR_LOG, f"MessageID: {message_id} RequestURI: {url} EndpointName: "
                                       f"{endpoint.split('/')[0]} ResponseHeader: HTTP/1.1 {reply.status_code} "
                                       f"{reply.reason_phrase} ~~ ResponseBodySize: {len(reply.content)} "
                                       f"ElapsedTime: {_ms(started)} ms",
                        severity=Severity.INFO if reply.status_code < 400 else Severity.WARNING)
        self.model.forwarded += 1
        out = {k: v for k, v in reply.headers.items() if k.lower() not in _HOP_BY_HOP}
        return Response(reply.content, status_code=reply.status_code, headers=out)

    def _log_request(self, request: Request, request_size: int, response_size: int, started: float) -> None:
        # The product writes this line per interval with totals and an average (B-44); the
        # harness writes it per request, so RequestCount is 1 and the average is that request's time.
        self.logs.write(SERVICE_LOG, f"RequestUri: {request.url.path.upper()}  RequestCount: 1  "
                                     f"RequestSize: {request_size} Bytes  ResponseCount: 1  "
                                     f"ResponseSize: {response_size} Bytes  AverageElapsedTime: {_ms(started)} ms")

    @contextmanager
    def _refusals_logged(self, request: Request) -> Iterator[None]:
        try:
            yield
        except HttpError as refusal:
            # [INFERENCE] wording: B-44 documents that such requests are not forwarded, not the line.
            self.logs.write(SERVICE_LOG, f"RequestUri: {request.url.path.upper()}  {request.method} answered "
                                         f"{refusal.status}: {refusal.reason}", severity=Severity.WARNING)
            raise

    async def get_content(self, request: Request) -> Response:
        placed = await self._place(request)
        response = await self.content.answer(request)
        self.model.manifests += 1
        response.headers.update(placed)
        return response

    def routes(self) -> list[Route]:
        methods = ["GET", "POST", "CCM_POST"]
        return [
            Route("/CCM_Proxy_ServerAuth/{cmg_id}/{path:path}", self.server_auth, methods=methods),
            Route("/CCM_Proxy_MutualAuth/{cmg_id}/{path:path}", self.mutual_auth, methods=methods),
            Route("/downloadrestservice.svc/getcontentxmlsecure", self.get_content, methods=["GET"]),
            *self.model.deployment.routes(),
        ]


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1e3)


async def _bad_request(request: Request, exc: Exception) -> Response:
    return Response(f"400 {exc}\n", status_code=400, media_type="text/plain")


def create_app(config: CmgServiceConfig, upstream: httpx.AsyncClient | None = None) -> Starlette:
    """`upstream`: how the gateway reaches the management point; by default HTTPS to `mp_url` through
    the configured names. The in-process stack passes a client wired straight to the site app."""
    clock, key, ca = config.model_clock, bytes.fromhex(config.key), config.ca_path
    model = CmgModel(config.cmg_id, clock)
    control = ControlPlane("cmg", model, logs=CMG_LOGS, clock=clock)
    upstream = upstream or make_async_client(config.hosts, ca, timeout=30.0)
    content = ContentService(config.storage, ca, key, clock, control.logs, CONTENT_LOG)

    def hold(seconds: float, request: Request) -> Awaitable[None]:
        return control.hold(seconds, int(request.scope.get("state", {}).get(REQUEST_KEY, 0)))

    service = CmgService(model, config.mp_url, key, clock, upstream, content, control.logs, hold)
    return service_app(control, service.routes(), errors={ProtocolError: _bad_request, TokenError: _bad_request})

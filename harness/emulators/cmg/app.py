"""The cloud management gateway: HTTPS front door for internet clients, and its content service.

    /CCM_Proxy_ServerAuth/<id>/...   token-authenticated traffic, forwarded to the management point
    /CCM_Proxy_MutualAuth/<id>/...   PKI client-certificate traffic (refused without a certificate)
    /downloadrestservice.svc/getcontentxmlsecure?pid=…   content manifest (spec §2.2)

A request without valid credentials is never forwarded to the site (spec §2.3 [S22]).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from harness.emulators.cmg.content import ContentService
from harness.emulators.control import (
    ControlMiddleware,
    ControlPlane,
    HttpError,
    http_error_handler,
    route_error_handler,
)
from harness.emulators.site.storage import StorageAccount
from harness.model.units import ModelClock
from harness.net.http import make_async_client
from harness.protocol.content_url import parse_content_query
from harness.protocol.errors import ProtocolError
from harness.protocol.manifest import build_manifest
from harness.protocol.tokens import TokenError, verify_token

# MP endpoints the CMG forwards, and the token each needs (spec §2.2, §6.4).
FORWARDED = {"ccm_system_tokenauth/request": "ccm", "CCM_STS": "site",
             "SMS_MP/.sms_pol": "ccm", "SMS_MP/.sms_aut": "ccm"}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "server", "date"}


class CmgModel:
    """Counters the control API exposes; the CMG keeps no other state of its own."""

    def __init__(self, cmg_id: str) -> None:
        self.cmg_id = cmg_id
        self.reset()

    def reset(self) -> None:
        self.forwarded = 0
        self.refused = 0
        self.manifests = 0

    def snapshot(self) -> dict[str, Any]:
        return {"cmg_id": self.cmg_id, "forwarded": self.forwarded, "refused": self.refused,
                "manifests": self.manifests}


class CmgService:
    def __init__(self, model: CmgModel, mp_url: str, key: bytes, clock: ModelClock,
                 upstream: httpx.AsyncClient, content: ContentService) -> None:
        self.model = model
        self.mp_url = mp_url.rstrip("/")
        self.key = key
        self.clock = clock
        self.upstream = upstream
        self.content = content

    async def server_auth(self, request: Request) -> Response:
        endpoint = self._endpoint(request)
        self._authenticate(request, FORWARDED[endpoint])
        return await self._forward(request, endpoint)

    async def mutual_auth(self, request: Request) -> Response:
        self._endpoint(request)
        self.model.refused += 1
        raise HttpError(403, "CCM_Proxy_MutualAuth needs a PKI client authentication certificate and none was "
                             "presented; token clients use CCM_Proxy_ServerAuth")

    def _endpoint(self, request: Request) -> str:
        if request.path_params["cmg_id"] != self.model.cmg_id:
            raise HttpError(404, f"no management point with ID {request.path_params['cmg_id']} behind this gateway")
        path = request.path_params["path"]
        for endpoint in FORWARDED:
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

    async def _forward(self, request: Request, endpoint: str) -> Response:
        url = f"{self.mp_url}/{endpoint}" + (f"?{request.url.query}" if request.url.query else "")
        # As bytes: a header value that is not ASCII is the site's to judge, and httpx would refuse the str.
        headers = [(k, v) for k, v in request.headers.raw if k.decode("latin-1").lower() not in _HOP_BY_HOP]
        try:
            reply = await self.upstream.request(request.method, url, content=await request.body(), headers=headers)
        except httpx.HTTPError as error:
            raise HttpError(502, f"the management point did not answer through the gateway: {error}") from None
        self.model.forwarded += 1
        out = {k: v for k, v in reply.headers.items() if k.lower() not in _HOP_BY_HOP}
        return Response(reply.content, status_code=reply.status_code, headers=out)

    async def get_content(self, request: Request) -> Response:
        base = f"{request.url.scheme}://{request.url.netloc}"
        url = parse_content_query(dict(request.query_params), base)
        header = request.headers.get("authorization", "")
        self.content.authorize(url, header.removeprefix("Bearer ") if header.startswith("Bearer ") else None)
        manifest = await run_in_threadpool(self.content.manifest, url)
        self.model.manifests += 1
        return Response(build_manifest(manifest), media_type="text/xml; charset=utf-8")

    def routes(self) -> list[Route]:
        methods = ["GET", "POST", "CCM_POST"]
        return [
            Route("/CCM_Proxy_ServerAuth/{cmg_id}/{path:path}", self.server_auth, methods=methods),
            Route("/CCM_Proxy_MutualAuth/{cmg_id}/{path:path}", self.mutual_auth, methods=methods),
            Route("/downloadrestservice.svc/getcontentxmlsecure", self.get_content, methods=["GET"]),
        ]


async def _bad_request(request: Request, exc: Exception) -> Response:
    return Response(f"400 {exc}\n", status_code=400, media_type="text/plain")


def create_app(config: dict[str, Any]) -> Starlette:
    clock = ModelClock.from_json(config["clock"])
    key = bytes.fromhex(config["key"])
    ca = Path(config["tls"]["ca"])
    model = CmgModel(str(config["cmg_id"]))
    upstream = make_async_client(config["hosts"], ca, timeout=30.0)
    content = ContentService(StorageAccount(**config["storage"]), ca, key, clock)
    service = CmgService(model, config["mp_url"], key, clock, upstream, content)
    control = ControlPlane("cmg", model)
    app = Starlette(routes=[*control.routes(), *service.routes()],
                    exception_handlers={HttpError: http_error_handler, HTTPException: route_error_handler,
                                        ProtocolError: _bad_request,
                                        TokenError: _bad_request},
                    middleware=[Middleware(ControlMiddleware, control=control)])
    app.state.control = control
    return app

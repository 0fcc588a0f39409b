"""The site server as one process: management point, its own distribution point, and the admin API.

Product endpoints follow the URL shapes of spec §2.2; `/_harness/site/...` stands in for the console.
"""

from __future__ import annotations

import binascii
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from harness.emulators.control import (
    ControlMiddleware,
    ControlPlane,
    HttpError,
    http_error_handler,
    route_error_handler,
)
from harness.emulators.site.admin import AdminRequests
from harness.emulators.site.models import DP_PACKAGE_VDIR, CloudSource, SiteConfig, SiteModel
from harness.emulators.site.storage import BlobContent, StorageAccount
from harness.model.content import corrupted, iter_content
from harness.model.units import ModelClock
from harness.model.versions import SiteVersion
from harness.protocol import messaging, mplist, site_info
from harness.protocol import policy as pol
from harness.protocol.errors import ProtocolError
from harness.protocol.location import build_location_reply, parse_location_request
from harness.protocol.tokens import Token, TokenError, verify_token

XML = "text/xml; charset=utf-8"


class SiteService:
    """Thin HTTP layer: parse, call the model, serialise."""

    def __init__(self, model: SiteModel, blobs: dict[str, BlobContent]) -> None:
        self.model = model
        self.blobs = blobs
        self.admin = AdminRequests(model, blobs)

    # -- management point ----------------------------------------------------------------------

    async def sms_aut(self, request: Request) -> Response:
        query = request.url.query.upper()
        if query == "MPLIST":
            entry = mplist.MPEntry(self.model.config.mp_fqdn, self.model.version.build)
            return Response(mplist.build_mplist([entry]), media_type=XML)
        raise HttpError(400, f"unsupported .sms_aut request {request.url.query!r}; this MP answers MPLIST")

    async def ccm_request(self, request: Request) -> Response:
        client = request.headers.get("x-ccm-client", "") or "anonymous"
        return await self._messaging(request, client)

    async def ccm_tokenauth_request(self, request: Request) -> Response:
        token = self._bearer(request, "ccm")
        return await self._messaging(request, token.subject)

    async def _messaging(self, request: Request, client: str) -> Response:
        message = messaging.decode_message(await request.body(), request.headers.get("content-type", ""))
        payload = self._dispatch(message, client)
        body, content_type = messaging.encode_reply(payload, message_id=message.message_id)
        return Response(body, media_type=content_type)

    def _dispatch(self, message: messaging.CcmMessage, client: str) -> str:
        endpoint, body = message.target_endpoint, message.body.lstrip("\ufeff").lstrip()
        if endpoint == "MP_LocationManager" and body.startswith("<ContentLocationRequest"):
            return build_location_reply(self.model.locate(parse_location_request(body), client))
        if endpoint == "MP_LocationManager" and body.startswith("<SiteInformationRequest"):
            site_info.parse_site_info_request(body)
            return site_info.build_site_info_reply(self.model.site_info())
        if endpoint == "MP_PolicyManager":
            client_id = pol.parse_request_assignments(body)
            return pol.build_assignment_reply(self.model.assignments(client_id))
        raise HttpError(400, f"unsupported message to {endpoint!r}: this management point handles "
                             "ContentLocationRequest, SiteInformationRequest and RequestAssignments")

    async def sms_pol(self, request: Request) -> Response:
        self._bearer_or_intranet(request)
        query = request.url.query
        policy_id = query.rsplit(".", 1)[0] if query.endswith("_00") else ""
        if not policy_id:
            raise HttpError(400, f"policy request {query!r} is not of the form <PolicyID>.<version>_00")
        return Response(pol.build_ts_policy(self.model.policy_body(policy_id)), media_type=XML)

    async def ccm_sts(self, request: Request) -> Response:
        site_token = self._bearer(request, "site")
        return PlainTextResponse(self.model.issue_ccm_token(site_token.subject))

    def _bearer(self, request: Request, kind: str) -> Token:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            raise HttpError(401, f"a {kind} token is required (Authorization: Bearer …)")
        try:
            return verify_token(header.removeprefix("Bearer "), self.model.config.key, kind=kind,
                                now=self.model.clock.now())
        except TokenError as error:
            raise HttpError(401, f"{kind} token rejected: {error.reason}") from None

    def _bearer_or_intranet(self, request: Request) -> None:
        if "authorization" in request.headers:
            self._bearer(request, "ccm")

    async def probe_windowsauth(self, request: Request) -> Response:
        return PlainTextResponse("401 - Unauthorized: Access is denied due to invalid credentials.\n",
                                 status_code=401, headers={"WWW-Authenticate": "Negotiate"})

    async def probe_ccm_system(self, request: Request) -> Response:
        return PlainTextResponse("403 - Forbidden: Access is denied.\n", status_code=403)

    # -- distribution point ----------------------------------------------------------------------

    async def dp_file(self, request: Request) -> Response:
        record = self._dp_package(request.path_params["package_id"])
        if request.path_params["path"] != record.file_name:
            raise HttpError(404, f"package {record.package.package_id} has no file {request.path_params['path']!r}")
        pkg = record.package
        chunks = iter_content(pkg.package_id, pkg.version, record.physical_size)
        damaged = self.model.config.dp_name in record.damaged
        return StreamingResponse(corrupted(chunks) if damaged else chunks,
                                 media_type="application/octet-stream",
                                 headers={"Content-Length": str(record.physical_size)})

    async def dp_listing(self, request: Request) -> Response:
        record = self._dp_package(request.path_params["package_id"])
        href = f"/{DP_PACKAGE_VDIR}/{record.package.package_id}/{record.file_name}"
        body = ('<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:"><D:response>'
                f"<D:href>{href}</D:href><D:propstat><D:prop><D:getcontentlength>{record.physical_size}"
                "</D:getcontentlength></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>"
                "</D:response></D:multistatus>")
        return Response(body, status_code=207, media_type=XML)

    def _dp_package(self, package_id: str) -> Any:
        record = self.model.packages.get(package_id)
        if record is None or self.model.config.dp_name not in record.sources:
            raise HttpError(404, f"package {package_id} is not on distribution point {self.model.config.mp_fqdn}")
        return record

    # -- wiring ------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route("/SMS_MP/.sms_aut", self.sms_aut, methods=["GET"]),
            Route("/SMS_MP/.sms_pol", self.sms_pol, methods=["GET"]),
            Route("/ccm_system/request", self.ccm_request, methods=["CCM_POST"]),
            Route("/ccm_system_tokenauth/request", self.ccm_tokenauth_request, methods=["CCM_POST"]),
            Route("/CCM_STS", self.ccm_sts, methods=["POST"]),
            Route("/ccm_system_windowsauth", self.probe_windowsauth, methods=["GET"]),
            Route("/ccm_system_windowsauth/", self.probe_windowsauth, methods=["GET"]),
            Route("/ccm_system/", self.probe_ccm_system, methods=["GET"]),
            Route(f"/{DP_PACKAGE_VDIR}/{{package_id}}", self.dp_listing, methods=["PROPFIND"]),
            Route(f"/{DP_PACKAGE_VDIR}/{{package_id}}/{{path:path}}", self.dp_file, methods=["GET"]),
            *self.admin.routes(),
        ]


async def protocol_error_handler(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"400 {exc}\n", status_code=400)


def create_app(config: dict[str, Any]) -> Starlette:
    site_config, accounts = parse_config(config)
    model = SiteModel(site_config, ModelClock.from_json(config["clock"]))
    ca = Path(config["tls"]["ca"])
    blobs = {name: BlobContent(account, ca) for name, account in accounts.items()}
    service = SiteService(model, blobs)

    def clear_storage() -> None:
        for content in blobs.values():
            content.clear()

    control = ControlPlane("site", model, extra_reset=clear_storage)
    app = Starlette(routes=[*control.routes(), *service.routes()],
                    exception_handlers={HttpError: http_error_handler, HTTPException: route_error_handler,
                                        ProtocolError: protocol_error_handler,
                                        binascii.Error: protocol_error_handler},
                    middleware=[Middleware(ControlMiddleware, control=control)])
    app.state.control = control
    app.state.model = model
    return app


def parse_config(config: dict[str, Any]) -> tuple[SiteConfig, dict[str, StorageAccount]]:
    sources = tuple(CloudSource(s["name"], s["kind"], s["fqdn"], int(s["port"]), bool(s.get("serve_content", True)))
                    for s in config.get("cloud_sources", []))
    accounts = {s["name"]: StorageAccount(**s["storage"]) for s in config.get("cloud_sources", [])}
    site = SiteConfig(site_code=config["site_code"], version=SiteVersion.parse(config["version"]),
                      mp_fqdn=config["mp_fqdn"], mp_port=int(config["mp_port"]), dp_name=config.get("dp_name", "dp"),
                      cloud_sources=sources, key=bytes.fromhex(config["key"]))
    return site, accounts


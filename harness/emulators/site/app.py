"""The site server as one process: management point, its own distribution point, and the admin API.

Product endpoints follow the documented URL shapes; `/_harness/site/...` stands in for the console.
"""

from __future__ import annotations

import binascii
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from harness.emulators.site.admin import AdminRequests
from harness.emulators.site.config import CloudSource, SiteConfig
from harness.emulators.site.dp import DistributionPoint, https_distribution_points
from harness.emulators.site.models import SiteModel
from harness.emulators.site.storage import BlobContent
from harness.model.versions import SiteVersion
from harness.protocol import messaging, mpcert, mplist, registration, site_info
from harness.protocol import policy as pol
from harness.protocol import ts_policy as tsp
from harness.protocol.cmtrace import Severity
from harness.protocol.errors import ProtocolError
from harness.protocol.location import build_location_reply, parse_location_request
from harness.protocol.tokens import CCM_TOKEN_LIFETIME, Token, TokenError, verify_token
from harness.service.app import service_app
from harness.service.configs import SiteServiceConfig, StorageAccount, Tls
from harness.service.content_marks import ContentDeclarer
from harness.service.control import (
    ControlPlane,
    HttpError,
    ServiceLogs,
)

XML = "text/xml; charset=utf-8"


# The management point's logs -> the component their lines carry. [INFERENCE] The documentation names
# the files, not their components; these are the MP components' own names.
SITE_LOGS = {
    "MP_Location.log": "MP_LocationManager",
    "MP_Policy.log": "MP_PolicyManager",
    "CCM_STS.log": "CCM_STS",
    "MP_GetAuth.log": "MP_GetAuth_ISAPI",
    "MP_RegistrationManager.log": "MP_RegistrationManager",
}


class SiteService:
    """Thin HTTP layer: parse, call the model, serialise, and log what the MP did."""

    def __init__(self, model: SiteModel, blobs: dict[str, BlobContent], logs: ServiceLogs,
                 https_dps: frozenset[str] = frozenset()) -> None:
        self.model = model
        self.blobs = blobs
        self.logs = logs
        self.admin = AdminRequests(model, blobs)
        self.dp = DistributionPoint(model, https_dps)

    # -- management point ----------------------------------------------------------------------

    async def sms_aut(self, request: Request) -> Response:
        query = request.url.query.upper()
        if query == "MPLIST":
            entry = mplist.MPEntry(self.model.config.mp_fqdn, self.model.version.build)
            # [INFERENCE] wording; .sms_aut is the MP_GetAuth ISAPI's endpoint.
            self.logs.write("MP_GetAuth.log", f"MPLIST request: returning 1 management point, {entry.fqdn} "
                                              f"(build {entry.version})")
            return Response(mplist.build_mplist([entry]), media_type=XML)
        if query == "MPCERT":
            certificate = self.model.config.mp_certificate
            self.logs.write("MP_GetAuth.log", f"MPCERT request: returning the certificate of "
                                              f"{self.model.config.mp_fqdn} ({len(certificate)} bytes)")
            return Response(mpcert.build_mpcert(certificate), media_type=XML)
        self.logs.write("MP_GetAuth.log", f"Unsupported .sms_aut request {request.url.query!r}; returning 400",
                        severity=Severity.WARNING)
        # MPKEYINFORMATIONMEDIA (media and PXE bootstrap) carries settings the harness has no model of.
        raise HttpError(400, f"unsupported .sms_aut request {request.url.query!r}; this MP answers MPLIST and "
                             "MPCERT")

    async def ccm_request(self, request: Request) -> Response:
        client = request.headers.get("x-ccm-client", "") or "anonymous"
        return await self._messaging(request, client)

    async def ccm_tokenauth_request(self, request: Request) -> Response:
        token = self._bearer(request, "ccm", "MP_GetAuth.log")
        return await self._messaging(request, token.subject)

    async def _messaging(self, request: Request, client: str) -> Response:
        message = messaging.decode_message(await request.body(), request.headers.get("content-type", ""))
        payload = self._dispatch(message, client)
        body, content_type = messaging.encode_reply(payload, message_id=message.message_id)
        return Response(body, media_type=content_type)

    def _dispatch(self, message: messaging.CcmMessage, client: str) -> str:
        endpoint, body = message.target_endpoint, message.body.lstrip("\ufeff").lstrip()
        if endpoint == "MP_LocationManager" and body.startswith("<ContentLocationRequest"):
            return self._locate(body, client)
        if endpoint == "MP_LocationManager" and body.startswith("<SiteInformationRequest"):
            return self._site_info(body, client)
        if endpoint == "MP_PolicyManager":
            return self._assignments(body, client)
        if endpoint == "MP_ClientRegistration":
            return self._register(body, client)
        raise HttpError(400, f"unsupported message to {endpoint!r}: this management point handles "
                             "ContentLocationRequest, SiteInformationRequest, RequestAssignments and "
                             "ClientRegistrationRequest")

    # [INFERENCE] The MP's own log wording is not documented (only client and CMG lines are quoted);
    # the MP_Location.log, MP_Policy.log, MP_GetAuth.log and MP_RegistrationManager.log lines below say what
    # the MP did in its words.

    def _locate(self, body: str, client: str) -> str:
        try:
            request = parse_location_request(body)
        except ProtocolError as error:
            self.logs.write("MP_Location.log", f"Malformed content location request from {client}: {error}",
                            severity=Severity.ERROR)
            raise
        pid = f"{request.package_id}:{request.package_version}"
        self.logs.write("MP_Location.log", f"Content location request received from {client} for package {pid}, "
                                           f"UseAzure={int(request.use_azure)} "
                                           f"UseInternetDP={int(request.use_internet_dp)}")
        try:
            reply = self.model.locate(request, client)
        except HttpError as error:
            self.logs.write("MP_Location.log", f"Content location request for {pid} failed: {error.reason}",
                            severity=Severity.ERROR)
            raise
        sources = "; ".join(f"{r.url.split('?')[0]} ({r.dp_type}, {r.locality})" for r in reply.records)
        self.logs.write("MP_Location.log",
                        f"Content location reply for package {pid} to {client} with {len(reply.records)} "
                        f"locations, site locality {reply.site_locality}" + (f": {sources}" if sources else ""),
                        severity=Severity.INFO if reply.records else Severity.WARNING)
        return build_location_reply(reply)

    def _site_info(self, body: str, client: str) -> str:
        site_info.parse_site_info_request(body)
        info = self.model.site_info()
        self.logs.write("MP_Location.log", f"Site information request received from {client}; replying with site "
                                           f"code {info.site_code}, version {info.version} "
                                           f"({info.full_version_label})")
        return site_info.build_site_info_reply(info)

    def _assignments(self, body: str, client: str) -> str:
        client_id = pol.parse_request_assignments(body)
        self.logs.write("MP_Policy.log", f"Policy assignment request received from {client} ({client_id})")
        assignments = self.model.assignments(client_id)
        ids = ", ".join(a.policy_id for a in assignments) or "none"
        self.logs.write("MP_Policy.log", f"Returning {len(assignments)} policy assignments to {client}: {ids}")
        return pol.build_assignment_reply(assignments)

    def _register(self, body: str, client: str) -> str:
        """A registration whose signature holds gets the client's SMSID (SCCMSecrets,
        github.com/synacktiv/SCCMSecrets)."""
        request = self._registration_request(body, client)
        smsid, first = self.model.register(request.netbios_name)
        self.logs.write("MP_RegistrationManager.log",
                        f"Client {request.netbios_name} " + ("registered" if first else "was already registered")
                        + f" with SMSID {smsid}, approved")
        return registration.build_registration_reply(registration.RegistrationReply(smsid))

    def _registration_request(self, body: str, client: str) -> registration.RegistrationRequest:
        try:
            request = registration.parse_registration_request(body)
            registration.verify_signature(body, request)
        except ProtocolError as error:
            self.logs.write("MP_RegistrationManager.log", f"Registration request from {client} refused: {error}",
                            severity=Severity.ERROR)
            raise
        self.logs.write("MP_RegistrationManager.log",
                        f"Registration request received from {client}: Netbios Name {request.netbios_name}, "
                        f"FQ Name {request.fq_name}, InternetFlag {int(request.internet)}, agent "
                        f"{request.agent_identity} {request.agent_version}; signature verified")
        return request

    async def sms_pol(self, request: Request) -> Response:
        client = self._bearer_or_intranet(request)
        query = request.url.query
        policy_id = query.rsplit(".", 1)[0] if query.endswith("_00") else ""
        if not policy_id:
            self.logs.write("MP_Policy.log", f"Malformed policy request {query!r} from {client}",
                            severity=Severity.WARNING)
            raise HttpError(400, f"policy request {query!r} is not of the form <PolicyID>.<version>_00")
        self.logs.write("MP_Policy.log", f"Policy body request received from {client} for {policy_id}")
        try:
            body = self.model.policy_body(policy_id)
        except HttpError as error:
            self.logs.write("MP_Policy.log", f"Policy {policy_id} not served: {error.reason}", severity=Severity.ERROR)
            raise
        self.logs.write("MP_Policy.log", f"Policy body {policy_id} served to {client}: task sequence "
                                         f"{body.package_id} ({body.name}), {len(body.references)} "
                                         f"referenced packages")
        return Response(tsp.build_ts_policy(body), media_type=XML)

    async def ccm_sts(self, request: Request) -> Response:
        site_token = self._bearer(request, "site", "CCM_STS.log")
        if not self.model.version.site_issued_tokens:
            reason = (f"site-issued token authentication needs site version 2002 or later; this site runs "
                      f"{self.model.version}")
            self.logs.write("CCM_STS.log", f"Rejected site token of {site_token.subject}: {reason}",
                            severity=Severity.ERROR)
            raise HttpError(401, reason)
        # Documented line shapes (B-44); [INFERENCE] the documented validation line is for an AAD token,
        # a site-issued (bulk registration) token is assumed to be logged the same way.
        valid_to = site_token.expires.isoformat(timespec="seconds")
        self.logs.write("CCM_STS.log", f"Validated ConfigMgr token. TokenType: BulkRegistration "
                                       f"Subject: {site_token.subject} ValidTo: {valid_to}")
        ccm_token = self.model.issue_ccm_token(site_token.subject)
        self.logs.write("CCM_STS.log", f"Created SCCM token, token type: Device, subject: {site_token.subject}, "
                                       f"lifetime: {CCM_TOKEN_LIFETIME.total_seconds() / 3600:g} hours")
        self.logs.write("CCM_STS.log", "Issued token")
        self.logs.write("CCM_STS.log", "Return token to client")
        return PlainTextResponse(ccm_token)

    def _bearer(self, request: Request, kind: str, log: str) -> Token:
        header = request.headers.get("authorization", "")
        where = f"{request.method} {request.url.path}"
        if not header.startswith("Bearer "):
            self.logs.write(log, f"No {kind} token in {where}; returning 401 to client", severity=Severity.ERROR)
            raise HttpError(401, f"a {kind} token is required (Authorization: Bearer …)")
        try:
            return verify_token(header.removeprefix("Bearer "), self.model.config.key, kind=kind,
                                now=self.model.clock.now())
        except TokenError as error:
            self.logs.write(log, f"Failed to validate {kind} token for {where}: {error.reason}; returning 401 "
                                 "to client", severity=Severity.ERROR)
            raise HttpError(401, f"{kind} token rejected: {error.reason}") from None

    def _bearer_or_intranet(self, request: Request) -> str:
        """Who asks: the CCM token's subject, or an intranet client (which presents no token)."""
        if "authorization" in request.headers:
            return self._bearer(request, "ccm", "MP_GetAuth.log").subject
        return "an intranet client"

    async def probe_windowsauth(self, request: Request) -> Response:
        return PlainTextResponse("401 - Unauthorized: Access is denied due to invalid credentials.\n",
                                 status_code=401, headers={"WWW-Authenticate": "Negotiate"})

    async def probe_ccm_system(self, request: Request) -> Response:
        return PlainTextResponse("403 - Forbidden: Access is denied.\n", status_code=403)

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
            *self.dp.routes(),
            *self.admin.routes(),
        ]


async def protocol_error_handler(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"400 {exc}\n", status_code=400)


def create_app(config: SiteServiceConfig) -> Starlette:
    site_config, accounts = parse_config(config)
    https_dps = https_distribution_points(config, site_config.distribution_points)
    model = SiteModel(site_config, config.model_clock)
    ca = config.ca_path
    blobs = {name: BlobContent(account, ca) for name, account in accounts.items()}

    def clear_storage() -> None:
        for content in blobs.values():
            content.clear()

    control = ControlPlane("site", model, extra_reset=clear_storage, logs=SITE_LOGS, clock=model.clock,
                           content=ContentDeclarer.from_config(config.network, ca))
    service = SiteService(model, blobs, control.logs, https_dps)
    return service_app(control, service.routes(), model=model,
                       errors={ProtocolError: protocol_error_handler, binascii.Error: protocol_error_handler})


def parse_config(config: SiteServiceConfig) -> tuple[SiteConfig, dict[str, StorageAccount]]:
    sources = tuple(CloudSource(s.name, s.kind, s.fqdn, s.port, s.serve_content, s.installed, s.deployment_name)
                    for s in config.cloud_sources)
    accounts = {s.name: s.storage for s in config.cloud_sources}
    site = SiteConfig(site_code=config.site_code, version=SiteVersion.parse(config.version),
                      mp_fqdn=config.mp_fqdn, mp_port=config.mp_port, dp_name=config.dp_name,
                      cloud_sources=sources, key=bytes.fromhex(config.key),
                      other_dps=tuple((d.name, d.fqdn) for d in config.other_dps),
                      peers=tuple((d.name, d.fqdn) for d in config.peer_cache_sources),
                      mp_certificate=mp_certificate(config.tls or Tls(ca=str(config.ca_path))))
    return site, accounts


def mp_certificate(tls: Tls) -> bytes:
    """The DER certificate MPCERT returns. [INFERENCE] The real MP returns its own (signing) certificate; the
    harness gives the site server's TLS certificate, the leaf of `tls.cert`. A config without one (the in-process
    contract apps serve no TLS) gets the test CA's certificate instead, so MPCERT still returns a real one."""
    pem = Path(tls.cert or tls.ca).read_bytes()
    return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)


"""How an emulated client reaches its site: the management point directly on the intranet, or the
CMG's token-authenticated path on the internet (B-11, B-44). Everything goes over the wire."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from harness.client.identity import SigningIdentity
from harness.client.logs import ClientLogs
from harness.client.timeline import Timeline
from harness.client.winhttp import transport_hresult
from harness.model.errors import HResult, hresult_text, http_error
from harness.protocol import messaging, policy, registration, site_info, ts_policy
from harness.protocol.errors import ProtocolError
from harness.protocol.location import (
    ContentLocationReply,
    ContentLocationRequest,
    build_location_request,
    parse_location_reply,
)
from harness.protocol.tokens import CCM_TOKEN_LIFETIME
from harness.service.configs import SiteEndpoints

T = TypeVar("T")
MESSAGING_AGENT = "ConfigMgr Messaging HTTP Sender"
# CcmMessaging renews the CCM token when it is "already expired or close to expire" (B-44);
# [INFERENCE] "close" is taken as the last tenth of its 8-hour life.
RENEW_BEFORE = CCM_TOKEN_LIFETIME / 10


@dataclass(frozen=True)
class Exchange:
    """The last message the channel sent and the reply it decoded: what the task sequence engine's transport logs
    about a request (harness/client/engine_log.py)."""

    endpoint: str
    reply: str
    compressed_size: int  # the reply's zlib payload
    size: int  # the payload once inflated: UTF-16LE, null-terminated


class ChannelError(Exception):
    def __init__(self, hresult: int, message: str) -> None:
        super().__init__(message)
        self.hresult = hresult


def server_auth_url(mutual_auth_url: str) -> str:
    return mutual_auth_url.replace("/CCM_Proxy_MutualAuth/", "/CCM_Proxy_ServerAuth/")


class ManagementChannel:
    def __init__(self, *, client: str, http: httpx.Client, endpoints: SiteEndpoints, on_internet: bool,
                 site_token: str | None, logs: ClientLogs, model_now: Callable[[], datetime],
                 timeline: Timeline | None = None) -> None:
        """`site_token` None: a PKI client, which authenticates with its certificate on the MutualAuth path.
        `timeline`, when given, records each CCM token the channel obtains."""
        self.client = client
        self.http = http
        self.endpoints = endpoints
        self.on_internet = on_internet
        self._site_token = site_token
        self._logs = logs
        self._model_now = model_now
        self._timeline = timeline
        self._ccm_token: tuple[str, datetime] | None = None
        self._lock = threading.Lock()
        self.last_exchange: Exchange | None = None

    @property
    def uses_token(self) -> bool:
        return self.on_internet and self._site_token is not None

    @property
    def base_url(self) -> str:
        if not self.on_internet:
            return self.endpoints.mp_url
        return server_auth_url(self.endpoints.cmg_url) if self.uses_token else self.endpoints.cmg_url

    @property
    def request_url(self) -> str:
        path = "ccm_system_tokenauth/request" if self.uses_token else "ccm_system/request"
        return f"{self.base_url}/{path}"

    # -- messages --------------------------------------------------------------------------------

    def site_information(self) -> site_info.SiteInfo:
        reply = self._send("MP_LocationManager", site_info.build_site_info_request(self.endpoints.site_code))
        return self._parse(site_info.parse_site_info_reply, reply, "site information reply")

    def register(self, identity: SigningIdentity, fq_name: str) -> registration.RegistrationReply:
        """A signed ClientRegistrationRequest to MP_ClientRegistration; the reply names the client's SMSID."""
        unsigned = registration.RegistrationRequest(
            netbios_name=self.client, fq_name=fq_name, internet=self.on_internet,
            timestamp=self._model_now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            signing_certificate=identity.certificate_hex, encryption_certificate=identity.certificate_hex)
        request = registration.sign_request(unsigned, identity.key)
        reply = self._send("MP_ClientRegistration", registration.build_registration_request(request))
        return self._parse(registration.parse_registration_reply, reply, "registration reply")

    def policy_assignments(self, client_id: str) -> tuple[policy.PolicyAssignment, ...]:
        reply = self._send("MP_PolicyManager", policy.build_request_assignments(client_id))
        return self._parse(policy.parse_assignment_reply, reply, "policy assignment reply")

    def policy_body(self, assignment: policy.PolicyAssignment) -> ts_policy.TaskSequencePolicy:
        url = assignment.location.replace("http://<mp>", self.base_url)
        response = self._http("GET", url, headers=self._auth_headers())
        return self._parse(ts_policy.parse_ts_policy, response.text, f"policy {assignment.policy_id}")

    def locate(self, request: ContentLocationRequest) -> ContentLocationReply:
        text = build_location_request(request)
        self._logs.write("LocationServices.log", f"ContentLocationRequest : {text}")
        reply = self._send("MP_LocationManager", text, reply_to=f"direct:{self.client}:LS_ReplyLocations")
        self._logs.write("LocationServices.log", f"ContentLocationReply : {reply}")
        return self._parse(parse_location_reply, reply, "content location reply")

    def _send(self, endpoint: str, body: str, reply_to: str = "") -> str:
        message = messaging.CcmMessage(target_endpoint=endpoint, body=body, source_host=self.client,
                                       target_host=self.base_url,
                                       reply_to=reply_to or f"direct:{self.client}:SccmMessaging")
        payload, content_type = messaging.encode_message(message)
        verb_path = self.request_url.split("/", 3)[-1]
        self._logs.write("CcmMessaging.log", f"Sending message to {endpoint}: CCM_POST {verb_path}")
        headers = {"Content-Type": content_type, "X-CCM-Client": self.client, **self._auth_headers()}
        response = self._http(messaging.CCM_POST, self.request_url, content=payload, headers=headers)
        reply = self._parse(lambda b: messaging.decode_reply(b, response.headers.get("content-type", "")),
                            response.content, f"{endpoint} reply")
        self.last_exchange = _exchange(endpoint, reply)
        return reply

    def _http(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            code = transport_hresult(error)
            raise ChannelError(code, f"{method} {url} failed ({hresult_text(code)}): {error}") from None
        if response.status_code == 401:
            raise ChannelError(HResult.HTTP_401, f"{method} {url} was refused: 401 {response.text.strip()}")
        if response.status_code >= 400:
            # [INFERENCE] CcmMessaging reports an HTTP error status the way BITS does (B-49).
            raise ChannelError(http_error(response.status_code), f"{method} {url} failed with HTTP "
                                                                 f"{response.status_code}: {response.text.strip()}")
        return response

    def _parse(self, parse: Callable[[Any], T], data: Any, what: str) -> T:
        try:
            return parse(data)
        except ProtocolError as error:
            raise ChannelError(HResult.E_FAIL, f"malformed {what}: {error}") from None

    # -- tokens ----------------------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        if not self.uses_token:
            return {"User-Agent": MESSAGING_AGENT}
        return {"User-Agent": MESSAGING_AGENT, "Authorization": f"Bearer {self._ccm()}"}

    def _ccm(self) -> str:
        with self._lock:
            now = self._model_now()
            if self._ccm_token is None:
                self._ccm_token = self._new_ccm_token(now, "token.issued")
            elif self._ccm_token[1] - now < RENEW_BEFORE:
                self._log_renewal(self._ccm_token[1], now)
                self._ccm_token = self._new_ccm_token(now, "token.renewed")
            return self._ccm_token[0]

    def _new_ccm_token(self, now: datetime, event: str) -> tuple[str, datetime]:
        token, expires = self._request_ccm_token(), now + CCM_TOKEN_LIFETIME
        if self._timeline is not None:
            self._timeline.record(event, kind="ccm", expires=expires.isoformat(timespec="seconds"))
        return token, expires

    def _log_renewal(self, expires: datetime, now: datetime) -> None:
        # [INFERENCE] wording: B-44's source says only that CcmMessaging renews a token "already expired or close
        # to expire".
        minutes = round(abs((expires - now).total_seconds()) / 60)
        when = (f"expired at {expires:%Y-%m-%d %H:%M:%S} ({minutes} min ago)" if expires <= now
                else f"expires at {expires:%Y-%m-%d %H:%M:%S} (in {minutes} min)")
        self._logs.write("CcmMessaging.log", f"CCM token {when}; requesting a new token from CCM_STS")

    def _request_ccm_token(self) -> str:
        url = f"{self.base_url}/CCM_STS"
        response = self._http("POST", url, headers={"Authorization": f"Bearer {self._site_token or ''}",
                                                    "User-Agent": MESSAGING_AGENT})
        self._logs.write("CcmMessaging.log", "Appending CCM Token to the header.")
        return response.text.strip()


def _exchange(endpoint: str, reply: str) -> Exchange:
    # The compressed size is the payload compressed again: the emulated sites compress at zlib's default level, so
    # this is the size they sent (the multipart part itself is not kept).
    payload = (reply + "\x00").encode("utf-16-le")
    return Exchange(endpoint, reply, len(zlib.compress(payload)), len(payload))


__all__ = ["ChannelError", "Exchange", "ManagementChannel", "SiteEndpoints"]

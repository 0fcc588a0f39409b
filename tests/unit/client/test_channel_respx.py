"""The client's messaging layer against canned answers (respx): tokens and their renewal, envelopes,
registration, malformed replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from harness.client.channel import ChannelError, ManagementChannel, SiteEndpoints
from harness.client.identity import new_signing_identity
from harness.client.logs import ClientLogs
from harness.client.timeline import Timeline
from harness.model.errors import HResult
from harness.model.units import Scale
from harness.protocol import messaging, registration
from harness.protocol.location import (
    ContentLocationReply,
    ContentLocationRequest,
    LocationRecord,
    build_location_reply,
    parse_location_request,
)

MP = "https://cm01.corp.contoso.example:4443"
CMG = "https://cmg.contoso.example:4444/CCM_Proxy_MutualAuth/72186325152220500"
SERVER_AUTH = "https://cmg.contoso.example:4444/CCM_Proxy_ServerAuth/72186325152220500"
NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
REQUEST = ContentLocationRequest(package_id="PS100011", package_version=1, site_code="PS1",
                                 use_azure=True, use_internet_dp=True)
REPLY = ContentLocationReply(site_code="PS1", site_locality="LOCAL", hash_sha256="AB" * 32, access_token="tok",
                             records=(LocationRecord(url="https://cmg.contoso.example/downloadrestservice.svc/x",
                                                     server_remote_name="CMG.CONTOSO.EXAMPLE", locality="INTERNET",
                                                     dp_type="CLOUD"),))


def channel(http: httpx.Client, on_internet: bool) -> ManagementChannel:
    return ManagementChannel(client="CLIENT01", http=http, endpoints=SiteEndpoints("PS1", MP, CMG),
                             on_internet=on_internet, site_token="site-token", logs=ClientLogs(lambda: NOW),
                             model_now=lambda: NOW)


def reply(payload: str) -> httpx.Response:
    body, content_type = messaging.encode_reply(payload)
    return httpx.Response(200, content=body, headers={"Content-Type": content_type})


@respx.mock(assert_all_called=True)
def test_intranet_location_request_is_a_ccm_post_envelope(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.route(method="CCM_POST", url=f"{MP}/ccm_system/request").mock(
        return_value=reply(build_location_reply(REPLY)))
    with httpx.Client() as http:
        got = channel(http, on_internet=False).locate(REQUEST)
    assert got == REPLY
    sent = route.calls.last.request
    message = messaging.decode_message(sent.content, sent.headers["content-type"])
    assert message.target_endpoint == "MP_LocationManager"
    assert parse_location_request(message.body) == REQUEST
    assert "authorization" not in sent.headers
    assert sent.headers["user-agent"] == "ConfigMgr Messaging HTTP Sender"


@respx.mock(assert_all_called=True)
def test_internet_client_gets_a_ccm_token_once_and_uses_the_server_auth_path(respx_mock: respx.MockRouter) -> None:
    sts = respx_mock.post(f"{SERVER_AUTH}/CCM_STS").mock(return_value=httpx.Response(200, text="ccm-token\n"))
    mp = respx_mock.route(method="CCM_POST", url=f"{SERVER_AUTH}/ccm_system_tokenauth/request").mock(
        return_value=reply(build_location_reply(REPLY)))
    with httpx.Client() as http:
        ch = channel(http, on_internet=True)
        ch.locate(REQUEST)
        ch.locate(REQUEST)
    assert sts.call_count == 1
    assert sts.calls.last.request.headers["authorization"] == "Bearer site-token"
    assert [c.request.headers["authorization"] for c in mp.calls] == ["Bearer ccm-token"] * 2


@respx.mock
def test_a_reply_that_is_not_a_ccm_envelope_is_a_clear_error(respx_mock: respx.MockRouter) -> None:
    respx_mock.route(method="CCM_POST", url=f"{MP}/ccm_system/request").mock(
        return_value=httpx.Response(200, text="<html>proxy login</html>", headers={"Content-Type": "text/html"}))
    with httpx.Client() as http, pytest.raises(ChannelError, match="malformed MP_LocationManager reply"):
        channel(http, on_internet=False).locate(REQUEST)


@respx.mock
def test_a_reply_with_a_broken_location_xml_is_a_clear_error(respx_mock: respx.MockRouter) -> None:
    respx_mock.route(method="CCM_POST", url=f"{MP}/ccm_system/request").mock(
        return_value=reply("<ContentLocationReply><Sites>"))
    with httpx.Client() as http, pytest.raises(ChannelError, match="malformed content location reply"):
        channel(http, on_internet=False).locate(REQUEST)


@respx.mock
def test_a_refused_token_surfaces_as_http_401(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{SERVER_AUTH}/CCM_STS").mock(return_value=httpx.Response(401, text="site token rejected"))
    with httpx.Client() as http, pytest.raises(ChannelError) as caught:
        channel(http, on_internet=True).locate(REQUEST)
    assert caught.value.hresult is HResult.HTTP_401
    assert "site token rejected" in str(caught.value)


@respx.mock
def test_an_unreachable_management_point_is_a_channel_error(respx_mock: respx.MockRouter) -> None:
    respx_mock.route(method="CCM_POST", url=f"{MP}/ccm_system/request").mock(
        side_effect=httpx.ConnectError("connection refused"))
    with httpx.Client() as http, pytest.raises(ChannelError, match="connection refused"):
        channel(http, on_internet=False).locate(REQUEST)


# -- registration ---------------------------------------------------------------------------------------

SMSID = "GUID:3FB5CF5D-0C4B-4B1E-8F00-9E5D2A1B7C10"


@respx.mock(assert_all_called=True)
def test_an_internet_client_registers_through_the_cmg_with_a_signed_request(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{SERVER_AUTH}/CCM_STS").mock(return_value=httpx.Response(200, text="ccm-token"))
    mp = respx_mock.route(method="CCM_POST", url=f"{SERVER_AUTH}/ccm_system_tokenauth/request").mock(
        return_value=reply(registration.build_registration_reply(registration.RegistrationReply(SMSID))))
    identity = new_signing_identity("CLIENT01", NOW)
    with httpx.Client() as http:
        got = channel(http, on_internet=True).register(identity, "CLIENT01.corp.contoso.example")
    assert got == registration.RegistrationReply(SMSID)
    sent = mp.calls.last.request
    message = messaging.decode_message(sent.content, sent.headers["content-type"])
    request = registration.parse_registration_request(message.body)
    assert message.target_endpoint == "MP_ClientRegistration"
    assert sent.headers["authorization"] == "Bearer ccm-token"
    assert (request.netbios_name, request.internet, request.smsid, request.timestamp) == (
        "CLIENT01", True, "", "2026-11-02T08:00:00Z")
    assert request.signing_certificate == identity.certificate_hex
    registration.verify_signature(message.body, request)


# -- CCM token renewal (B-44) ------------------------------------------------------------------


class ModelTime:
    """The channel's model clock, moved on by the test."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def two_messages_apart(later: timedelta) -> tuple[respx.Route, respx.Route, ClientLogs, Timeline]:
    """Two location requests of an internet token client, `later` model time apart; CCM_STS hands out
    ccm-token-1, then ccm-token-2."""
    clock, timeline = ModelTime(), Timeline(Scale(5000))
    logs = ClientLogs(clock)
    with respx.mock(assert_all_called=False) as mock, httpx.Client() as http:
        sts = mock.post(f"{SERVER_AUTH}/CCM_STS").mock(side_effect=[httpx.Response(200, text="ccm-token-1"),
                                                                    httpx.Response(200, text="ccm-token-2")])
        mp = mock.route(method="CCM_POST", url=f"{SERVER_AUTH}/ccm_system_tokenauth/request").mock(
            return_value=reply(build_location_reply(REPLY)))
        ch = ManagementChannel(client="CLIENT01", http=http, endpoints=SiteEndpoints("PS1", MP, CMG),
                               on_internet=True, site_token="site-token", logs=logs, model_now=clock,
                               timeline=timeline)
        ch.locate(REQUEST)
        clock.now += later
        ch.locate(REQUEST)
    return sts, mp, logs, timeline


def token_events(timeline: Timeline) -> list[tuple[str, str]]:
    return [(e["event"], e["expires"]) for e in timeline.events() if e["event"].startswith("token.")]


@pytest.mark.parametrize(("later", "line"), [
    (timedelta(hours=8), "CCM token expired at 2026-11-02 16:00:00 (0 min ago); requesting a new token from CCM_STS"),
    (timedelta(hours=9), "CCM token expired at 2026-11-02 16:00:00 (60 min ago); requesting a new token from "
                         "CCM_STS"),
    (timedelta(hours=7, minutes=30), "CCM token expires at 2026-11-02 16:00:00 (in 30 min); requesting a new token "
                                     "from CCM_STS"),
], ids=["expired-8h", "expired-9h", "close-to-expiry"])
def test_an_expired_or_expiring_ccm_token_is_renewed_before_the_next_message(later: timedelta, line: str) -> None:
    sts, mp, logs, timeline = two_messages_apart(later)
    assert sts.call_count == 2
    assert [c.request.headers["authorization"] for c in sts.calls] == ["Bearer site-token"] * 2
    assert [c.request.headers["authorization"] for c in mp.calls] == ["Bearer ccm-token-1", "Bearer ccm-token-2"]
    assert line in logs.text("CcmMessaging.log")
    assert token_events(timeline) == [("token.issued", "2026-11-02T16:00:00+00:00"),
                                      ("token.renewed", (NOW + later + timedelta(hours=8)).isoformat())]


@pytest.mark.parametrize("later", [timedelta(hours=1), timedelta(hours=7)], ids=["1h", "7h"])
def test_a_ccm_token_far_from_expiry_is_reused(later: timedelta) -> None:
    sts, mp, logs, timeline = two_messages_apart(later)
    assert sts.call_count == 1
    assert [c.request.headers["authorization"] for c in mp.calls] == ["Bearer ccm-token-1"] * 2
    assert "requesting a new token" not in logs.text("CcmMessaging.log")
    assert token_events(timeline) == [("token.issued", "2026-11-02T16:00:00+00:00")]

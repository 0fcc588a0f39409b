"""The client's messaging layer against canned answers (respx): tokens, envelopes, malformed replies."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
import respx

from harness.client.channel import ChannelError, ManagementChannel, SiteEndpoints
from harness.client.logs import ClientLogs
from harness.model.errors import HResult
from harness.protocol import messaging
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

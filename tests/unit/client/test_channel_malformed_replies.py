"""Whatever comes back from a management point, the client's messaging layer ends in a ChannelError that
says what was wrong — never another exception, never a hang — and logs the reply it could not read."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import httpx
import pytest
import respx

from harness.client.channel import ChannelError, ManagementChannel, SiteEndpoints
from harness.client.logs import ClientLogs
from harness.model.errors import HResult, http_error
from harness.protocol import messaging
from harness.protocol.location import ContentLocationRequest

MP = "https://cm01.corp.contoso.example:4443"
CMG = "https://cmg.contoso.example:4444/CCM_Proxy_MutualAuth/72186325152220500"
NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
REQUEST = ContentLocationRequest(package_id="PS100011", package_version=1, site_code="PS1",
                                 use_azure=True, use_internet_dp=False)
BOUNDARY = messaging.BOUNDARY
MULTIPART = messaging.CONTENT_TYPE


def multipart(header: bytes, payload: bytes, *, boundary: str = BOUNDARY) -> bytes:
    dash = f"--{boundary}".encode()
    return (dash + b"\r\ncontent-type: text/plain; charset=UTF-16\r\n\r\n" + header + b"\r\n" + dash
            + b"\r\ncontent-type: application/octet-stream\r\n\r\n" + payload + b"\r\n" + dash + b"--\r\n")


GOOD_HEADER = '<Msg SchemaVersion="1.1"><ID>{1}</ID></Msg>'.encode("utf-16")


def packed(text: str) -> bytes:
    return zlib.compress((text + "\x00").encode("utf-16-le"))


# (case, status, content type, body, words the error must carry)
CASES = [
    ("a proxy's HTML page", 200, "text/html", b"<html>sign in</html>", "not multipart/mixed"),
    ("an empty body", 200, MULTIPART, b"", "expected 2 parts"),
    ("only the header part", 200, MULTIPART, multipart(GOOD_HEADER, b"")[:120], "expected 2 parts"),
    ("a payload that is not zlib", 200, MULTIPART, multipart(GOOD_HEADER, b"plain text, not compressed"), "zlib"),
    ("a zlib stream cut short", 200, MULTIPART, multipart(GOOD_HEADER, packed("<ContentLocationReply/>")[:9]),
     "zlib"),
    ("a payload in UTF-8, not UTF-16", 200, MULTIPART,
     multipart(GOOD_HEADER, zlib.compress(b"<ContentLocationReply/>\x00")), "UTF-16"),
    ("a header that is not XML", 200, MULTIPART, multipart("not xml".encode("utf-16"), packed("<x/>")), "header"),
    ("another boundary than announced", 200, MULTIPART,
     multipart(GOOD_HEADER, packed("<x/>"), boundary="otherBoundary"), "expected 2 parts"),
    ("a reply that is not a location reply", 200, MULTIPART, multipart(GOOD_HEADER, packed("<SiteInfoReply/>")),
     "malformed content location reply"),
    ("a location reply without sites", 200, MULTIPART,
     multipart(GOOD_HEADER, packed('<ContentLocationReply SchemaVersion="1.00"/>')), "Sites"),
    ("a record with a non-numeric version", 200, MULTIPART, multipart(GOOD_HEADER, packed(
        '<ContentLocationReply><Sites><Site><MPSite SiteCode="PS1" SiteLocality="LOCAL"/><LocationRecords>'
        '<LocationRecord><URL Name="https://dp/x"/><Version>ninety</Version><ServerRemoteName>DP</ServerRemoteName>'
        "<DPType>SERVER</DPType><Locality>LOCAL</Locality></LocationRecord></LocationRecords></Site></Sites>"
        "</ContentLocationReply>")), "Version"),
    ("an entity expansion bomb", 200, MULTIPART, multipart(GOOD_HEADER, packed(
        '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&b;</r>')), "malformed"),
    ("a zip bomb", 200, MULTIPART,
     multipart(GOOD_HEADER, zlib.compress(b"\x00" * (messaging.MAX_PAYLOAD_BYTES + 2))), "more than"),
    ("a 500 from the management point", 500, "text/plain", b"500 internal error", "500"),
    ("a 503 from the management point", 503, "text/html", b"<h1>Service Unavailable</h1>", "503"),
]


def channel(http: httpx.Client, logs: ClientLogs) -> ManagementChannel:
    return ManagementChannel(client="CLIENT01", http=http, endpoints=SiteEndpoints("PS1", MP, CMG),
                             on_internet=False, site_token=None, logs=logs, model_now=lambda: NOW)


@pytest.mark.parametrize(("status", "content_type", "body", "words"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
@respx.mock
def test_a_malformed_reply_is_a_clear_channel_error(respx_mock: respx.MockRouter, status: int, content_type: str,
                                                    body: bytes, words: str) -> None:
    respx_mock.route(method="CCM_POST", url=f"{MP}/ccm_system/request").mock(
        return_value=httpx.Response(status, content=body, headers={"Content-Type": content_type}))
    logs = ClientLogs(lambda: NOW)
    with httpx.Client() as http, pytest.raises(ChannelError) as caught:
        channel(http, logs).locate(REQUEST)
    assert words.lower() in str(caught.value).lower(), str(caught.value)
    # An HTTP error status is reported as BITS reports it (0x8019xxxx); an unreadable reply as E_FAIL-like codes.
    expected = http_error(status) if status >= 400 else None
    assert caught.value.hresult == expected if expected else caught.value.hresult in set(HResult), caught.value

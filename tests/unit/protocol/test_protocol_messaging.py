import zlib

import pytest

from harness.protocol.errors import ProtocolError
from harness.protocol.messaging import (
    BOUNDARY,
    CCM_POST,
    CONTENT_TYPE,
    CcmMessage,
    decode_message,
    decode_reply,
    encode_message,
    encode_reply,
)

MESSAGE = CcmMessage(
    target_endpoint="MP_PolicyManager",
    body="<RequestAssignments/>",
    source_host="CLIENT01",
    target_host="https://cm01.corp.contoso.example",
    message_id="{5DD100CD-DF1D-45F5-BA17-A327F43465F8}",
    reply_to="direct:CLIENT01:SccmMessaging",
    sent_time="2024-05-01T10:00:00Z",
)
DASH = f"--{BOUNDARY}".encode()


def _sccmsecrets_body(header: str, payload: bytes) -> bytes:
    """Built the way synacktiv/SCCMSecrets builds a request."""
    return (
        DASH
        + b"\r\ncontent-type: text/plain; charset=UTF-16\r\n\r\n"
        + header.encode("utf-16")
        + b"\r\n"
        + DASH
        + b"\r\ncontent-type: application/octet-stream\r\n\r\n"
        + zlib.compress(payload)
        + b"\r\n"
        + DASH
        + b"--"
    )


SCCMSECRETS_HEADER = (
    '<Msg ReplyCompression="zlib" SchemaVersion="1.1"><Body Type="ByteRange" Length="{n}" Offset="0" />'
    "<CorrelationID>{{00000000-0000-0000-0000-000000000000}}</CorrelationID>"
    '<Hooks><Hook3 Name="zlib-compress" /></Hooks><ID>{{5DD100CD-DF1D-45F5-BA17-A327F43465F8}}</ID>'
    '<Payload Type="inline" /><Priority>0</Priority>'
    "<Protocol>http</Protocol><ReplyMode>Sync</ReplyMode><ReplyTo>direct:CLIENT01:SccmMessaging</ReplyTo>"
    "<SentTime>2024-05-01T10:00:00Z</SentTime><SourceHost>CLIENT01</SourceHost>"
    "<TargetAddress>mp:MP_ClientRegistration</TargetAddress><TargetEndpoint>MP_ClientRegistration</TargetEndpoint>"
    "<TargetHost>cm01</TargetHost><Timeout>60000</Timeout></Msg>"
)


def test_verb() -> None:
    assert CCM_POST == "CCM_POST"


def test_round_trip() -> None:
    body, content_type = encode_message(MESSAGE)
    assert content_type == 'multipart/mixed; boundary="aAbBcCdDv1234567890VxXyYzZ"' == CONTENT_TYPE
    assert decode_message(body, content_type) == MESSAGE


def test_wire_shape() -> None:
    body, _ = encode_message(MESSAGE)
    assert body.startswith(
        DASH + b"\r\ncontent-type: text/plain; charset=UTF-16\r\n\r\n\xff\xfe<\x00M\x00s\x00g\x00"
    )
    assert b"\r\n" + DASH + b"\r\ncontent-type: application/octet-stream\r\n\r\nx\x9c" in body
    assert body.endswith(b"\r\n" + DASH + b"--\r\n")
    header = body.split(b"\r\n\r\n", 1)[1].split(b"\r\n" + DASH)[0].decode("utf-16")
    for fragment in (
        '<Msg ReplyCompression="zlib" SchemaVersion="1.1"><Body Type="ByteRange" Length="44" Offset="0" />',
        '<Hooks><Hook3 Name="zlib-compress" /></Hooks>',
        "<ReplyMode>Sync</ReplyMode>",
        "<TargetAddress>mp:MP_PolicyManager</TargetAddress>",
        "<Timeout>60000</Timeout>",
    ):
        assert fragment in header
    payload = zlib.decompress(body.split(b"application/octet-stream\r\n\r\n")[1].split(b"\r\n" + DASH)[0])
    assert payload == "<RequestAssignments/>\x00".encode("utf-16-le")


def test_location_manager_is_addressed_over_http_and_defaults_are_filled_in() -> None:
    body, content_type = encode_message(CcmMessage("MP_LocationManager", "<x/>"))
    assert "<TargetAddress>mp:[http]MP_LocationManager</TargetAddress>".encode("utf-16-le") in body
    decoded = decode_message(body, content_type)
    assert decoded.reply_to == "direct:client:SccmMessaging"
    assert decoded.message_id.startswith("{") and len(decoded.message_id) == 38
    assert decoded.correlation_id == "{00000000-0000-0000-0000-000000000000}"


def test_sccmsecrets_style_request_decodes() -> None:
    payload = "<ClientRegistrationRequest/>".encode("utf-16-le") + b"\x00\x00\r\n"
    message = decode_message(
        _sccmsecrets_body(SCCMSECRETS_HEADER.format(n=len(payload) - 2), payload),
        'multipart/mixed; boundary="aAbBcCdDv1234567890VxXyYzZ"',
    )
    assert (message.target_endpoint, message.body, message.source_host) == (
        "MP_ClientRegistration",
        "<ClientRegistrationRequest/>",
        "CLIENT01",
    )


def test_reply_round_trip() -> None:
    body, content_type = encode_reply("<ReplyAssignments/>", message_id=MESSAGE.message_id)
    assert decode_reply(body, content_type) == "<ReplyAssignments/>"
    header = body.split(b"\r\n\r\n", 1)[1].split(b"\r\n" + DASH)[0].decode("utf-16")
    assert f"<CorrelationID>{MESSAGE.message_id}</CorrelationID>" in header


def test_bodies_that_cannot_travel_are_refused() -> None:
    with pytest.raises(ProtocolError, match=r"^CCM message: body contains U\+0000"):
        encode_message(CcmMessage("MP_LocationManager", "a\x00b"))
    with pytest.raises(ProtocolError, match=r"^CCM message: body is not encodable as UTF-16"):
        encode_reply("\ud800")


def _replace_payload(raw: bytes) -> bytes:
    body, _ = encode_message(MESSAGE)
    head = body.split(b"application/octet-stream\r\n\r\n")[0]
    return head + b"application/octet-stream\r\n\r\n" + raw + b"\r\n" + DASH + b"--\r\n"


def _replace_header(raw: bytes) -> bytes:
    body, _ = encode_message(MESSAGE)
    head, tail = body.split(b"charset=UTF-16\r\n\r\n")
    return head + b"charset=UTF-16\r\n\r\n" + raw + b"\r\n" + DASH + tail.split(b"\r\n" + DASH, 1)[1]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_replace_payload(b"not zlib"), "payload is not valid zlib data"),
        (
            _replace_payload(zlib.compress(b"abc")[:-3]),
            r"payload is not valid zlib data \(truncated stream\)",
        ),
        (
            _replace_payload(zlib.compress(bytes(5 * 1024 * 1024))),
            "payload decompresses to more than 4194304 bytes",
        ),
        (_replace_payload(zlib.compress(b"abc")), "payload is not UTF-16LE text"),
        (_replace_payload(zlib.compress(b"\x00\xd8a\x00")), "payload is not UTF-16LE text"),
        (_replace_header(b"<\x00M\x00"), r"header is not UTF-16 XML \(header: not well-formed XML"),
        (_replace_header(b"<Msg/>"), r"header is not UTF-16 XML \(header: not well-formed XML"),
        (_replace_header(b"\xff\xfe<\x00M"), r"header is not UTF-16 XML \(truncated data\)"),
        (_replace_header("<Message/>".encode("utf-16")), "header is a <Message>, not a <Msg>"),
        (_replace_header("<Msg><ID>{1}</ID></Msg>".encode("utf-16")), "header has no <TargetEndpoint>"),
        (
            DASH + b"\r\n\r\nonly one part\r\n" + DASH + b"--",
            r"expected 2 parts \(header and payload\), found 1",
        ),
        (b"no multipart at all", r"expected 2 parts \(header and payload\), found 0"),
        (
            DASH + b"\r\ncontent-type: text/plain" + b"\r\n" + DASH + b"--",
            "part 1 has no blank line after its headers",
        ),
        (DASH, "part 1 ends right after its boundary"),
        (bytes(4 * 1024 * 1024 + 1), "body is larger than 4194304 bytes"),
    ],
)
def test_decode_errors_name_the_problem(body: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=f"^CCM message: {message}"):
        decode_message(body, CONTENT_TYPE)


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("application/xml", "content type 'application/xml' is not multipart/mixed"),
        ("multipart/mixed", "content type 'multipart/mixed' has no boundary"),
        ('multipart/mixed; boundary=""', "content type has an unusable boundary ''"),
        ("", "content type '' is not multipart/mixed"),
    ],
)
def test_content_type_errors(content_type: str, message: str) -> None:
    body, _ = encode_message(MESSAGE)
    with pytest.raises(ProtocolError, match=f"^CCM message: {message}$"):
        decode_message(body, content_type)


def test_unquoted_boundary_and_missing_header_fields() -> None:
    header = "<Msg><TargetEndpoint>MP_LocationManager</TargetEndpoint></Msg>".encode("utf-16")
    payload = "<x/>".encode("utf-16-le")  # no terminator
    body = (
        DASH
        + b"\r\n\r\n"
        + header
        + b"\r\n"
        + DASH
        + b"\r\n\r\n"
        + zlib.compress(payload)
        + b"\r\n"
        + DASH
        + b"--"
    )
    message = decode_message(body, f"Multipart/Mixed; charset=x; boundary={BOUNDARY}")
    assert message == CcmMessage(
        "MP_LocationManager",
        "<x/>",
        source_host="",
        target_host="",
        message_id="",
        correlation_id="",
        reply_to="",
        sent_time="",
    )

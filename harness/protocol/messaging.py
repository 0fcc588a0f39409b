"""ConfigMgr client messaging (CcmMessaging), the ``CCM_POST …/request`` body.

The body is ``multipart/mixed`` with two parts: a ``<Msg>`` header in UTF-16 with a byte order mark, then
the zlib-compressed UTF-16LE message body, null-terminated. Replies have the same shape.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from harness.protocol.errors import ProtocolError, parse_xml, serialize, sub, text_of

CCM_POST = "CCM_POST"
BOUNDARY = "aAbBcCdDv1234567890VxXyYzZ"
CONTENT_TYPE = f'multipart/mixed; boundary="{BOUNDARY}"'
ZERO_GUID = "{00000000-0000-0000-0000-000000000000}"
# Endpoints the client addresses with a transport prefix in TargetAddress.
_ADDRESS_PREFIX = {"MP_LocationManager": "[http]"}
# A 4 MiB body is far beyond any real message (policy bodies travel as plain GETs); the cap keeps a
# zip bomb from expanding without limit. The raw body gets the same cap.
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
MAX_BODY_BYTES = 4 * 1024 * 1024
WHAT = "CCM message"


@dataclass(frozen=True)
class CcmMessage:
    target_endpoint: str  # e.g. MP_LocationManager, MP_PolicyManager
    body: str  # the XML message; it cannot hold U+0000, which ends it on the wire
    source_host: str = "client"
    target_host: str = "mp"
    message_id: str = ""  # empty: encode_message makes a fresh {GUID}
    correlation_id: str = ZERO_GUID
    reply_to: str = ""  # empty: direct:<source_host>:SccmMessaging
    sent_time: str = ""  # e.g. 2024-05-01T10:00:00Z; the caller owns the clock


def encode_message(msg: CcmMessage) -> tuple[bytes, str]:
    """The request body and its Content-Type header value."""
    payload = _payload_bytes(msg.body)
    header = _header(payload, msg.message_id, msg.correlation_id)
    for tag, text in (
        ("ReplyTo", msg.reply_to or f"direct:{msg.source_host}:SccmMessaging"),
        ("SentTime", msg.sent_time),
        ("SourceHost", msg.source_host),
        ("TargetAddress", f"mp:{_ADDRESS_PREFIX.get(msg.target_endpoint, '')}{msg.target_endpoint}"),
        ("TargetEndpoint", msg.target_endpoint),
        ("TargetHost", msg.target_host),
        ("Timeout", "60000"),
    ):
        sub(header, tag, text)
    return _multipart(header, payload), CONTENT_TYPE


def encode_reply(payload: str, *, message_id: str = "") -> tuple[bytes, str]:
    """A reply to the message whose ID is ``message_id``.

    [INFERENCE] The reply header's fields are not documented: it gets its own fresh ID and carries the
    request's ID as its CorrelationID.
    """
    data = _payload_bytes(payload)
    return _multipart(_header(data, "", message_id or ZERO_GUID), data), CONTENT_TYPE


def _header(payload: bytes, message_id: str, correlation_id: str) -> Element:
    # Body Length is the uncompressed UTF-16LE length with its terminator, as SCCMSecrets computes it
    # (github.com/synacktiv/SCCMSecrets); ConfigMgr's own clients are not documented.
    header = Element("Msg", ReplyCompression="zlib", SchemaVersion="1.1")
    sub(header, "Body", Type="ByteRange", Length=str(len(payload)), Offset="0")
    sub(header, "CorrelationID", correlation_id)
    sub(sub(header, "Hooks"), "Hook3", Name="zlib-compress")
    sub(header, "ID", message_id or f"{{{str(uuid.uuid4()).upper()}}}")
    sub(header, "Payload", Type="inline")
    sub(header, "Priority", "0")
    sub(header, "Protocol", "http")
    sub(header, "ReplyMode", "Sync")
    return header


def _payload_bytes(body: str) -> bytes:
    if "\x00" in body:
        raise ProtocolError(f"{WHAT}: body contains U+0000, which would end it early")
    try:
        return (body + "\x00").encode("utf-16-le")
    except UnicodeEncodeError as error:
        raise ProtocolError(f"{WHAT}: body is not encodable as UTF-16 ({error.reason})") from None


def _multipart(header: Element, payload: bytes) -> bytes:
    dash = f"--{BOUNDARY}".encode("ascii")
    return b"".join((
        dash, b"\r\ncontent-type: text/plain; charset=UTF-16\r\n\r\n",
        serialize(header).encode("utf-16"),  # "utf-16" writes the byte order mark the client sends
        b"\r\n", dash, b"\r\ncontent-type: application/octet-stream\r\n\r\n",
        zlib.compress(payload),
        b"\r\n", dash, b"--\r\n",
    ))


def decode_message(body: bytes, content_type: str) -> CcmMessage:
    header, payload = _parts(body, content_type)
    target = header.find("TargetEndpoint")
    if target is None or not target.text:
        raise ProtocolError(f"{WHAT}: header has no <TargetEndpoint>")
    return CcmMessage(
        target_endpoint=target.text,
        body=payload,
        source_host=_text(header, "SourceHost"),
        target_host=_text(header, "TargetHost"),
        message_id=_text(header, "ID"),
        correlation_id=_text(header, "CorrelationID"),
        reply_to=_text(header, "ReplyTo"),
        sent_time=_text(header, "SentTime"),
    )


def decode_reply(body: bytes, content_type: str) -> str:
    return _parts(body, content_type)[1]


def _text(header: Element, tag: str) -> str:
    element = header.find(tag)
    return "" if element is None else text_of(element)


def _parts(body: bytes, content_type: str) -> tuple[Element, str]:
    if not isinstance(body, bytes | bytearray):
        raise ProtocolError(f"{WHAT}: body is {type(body).__name__}, not bytes")
    if len(body) > MAX_BODY_BYTES:
        raise ProtocolError(f"{WHAT}: body is larger than {MAX_BODY_BYTES} bytes")
    parts = _split_multipart(bytes(body), _boundary(content_type))
    if len(parts) < 2:
        raise ProtocolError(f"{WHAT}: expected 2 parts (header and payload), found {len(parts)}")
    return _header_element(parts[0]), _payload_text(parts[1])


def _boundary(content_type: str) -> bytes:
    if not isinstance(content_type, str):
        raise ProtocolError(f"{WHAT}: content type is not text")
    media_type, *params = content_type.split(";")
    if media_type.strip().lower() != "multipart/mixed":
        raise ProtocolError(f"{WHAT}: content type {content_type[:80]!r} is not multipart/mixed")
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "boundary":
            boundary = value.strip().strip('"')
            if boundary and len(boundary) <= 70 and boundary.isascii():
                return boundary.encode("ascii")
            raise ProtocolError(f"{WHAT}: content type has an unusable boundary {boundary[:80]!r}")
    raise ProtocolError(f"{WHAT}: content type {content_type[:80]!r} has no boundary")


def _split_multipart(body: bytes, boundary: bytes) -> list[bytes]:
    """Part contents, without their headers (the parts are told apart by position)."""
    # Every delimiter but the first is CRLF + "--" + boundary; a leading CRLF makes the first one alike.
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary)
    parts: list[bytes] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        line_end = chunk.find(b"\r\n")
        if line_end < 0:
            raise ProtocolError(f"{WHAT}: part {len(parts) + 1} ends right after its boundary")
        rest = chunk[line_end + 2:]
        if rest.startswith(b"\r\n"):
            parts.append(rest[2:])
            continue
        blank = rest.find(b"\r\n\r\n")
        if blank < 0:
            raise ProtocolError(f"{WHAT}: part {len(parts) + 1} has no blank line after its headers")
        parts.append(rest[blank + 4:])
    return parts


def _header_element(data: bytes) -> Element:
    text = _utf16(data, "header").rstrip("\x00")
    try:
        header = parse_xml(text, "header")
    except ProtocolError as error:
        raise ProtocolError(f"{WHAT}: header is not UTF-16 XML ({error})") from None
    if header.tag != "Msg":
        raise ProtocolError(f"{WHAT}: header is a <{header.tag}>, not a <Msg>")
    return header


def _utf16(data: bytes, what: str) -> str:
    if data.startswith(b"\xff\xfe"):
        encoding, data = "utf-16-le", data[2:]
    elif data.startswith(b"\xfe\xff"):
        encoding, data = "utf-16-be", data[2:]
    else:
        encoding = "utf-16-le"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise ProtocolError(f"{WHAT}: {what} is not UTF-16 XML ({error.reason})") from None


def _payload_text(data: bytes) -> str:
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(data, MAX_PAYLOAD_BYTES + 1)
    except zlib.error as error:
        raise ProtocolError(f"{WHAT}: payload is not valid zlib data ({error})") from None
    if len(raw) > MAX_PAYLOAD_BYTES or inflater.unconsumed_tail:
        raise ProtocolError(f"{WHAT}: payload decompresses to more than {MAX_PAYLOAD_BYTES} bytes")
    if not inflater.eof:
        raise ProtocolError(f"{WHAT}: payload is not valid zlib data (truncated stream)")
    if raw[:1] == b"<" and all(0x20 <= byte < 0x7F for byte in raw[1:4]) and len(raw) >= 4:
        # "<" then printable ASCII where UTF-16LE would have a zero byte: 8-bit text, which decoded as
        # UTF-16 would be a run of CJK characters and an unhelpful XML error.
        raise ProtocolError(f"{WHAT}: payload is not UTF-16LE text (it starts like 8-bit text: {raw[:24]!r})")
    try:
        text = raw.decode("utf-16-le")
    except UnicodeDecodeError as error:
        raise ProtocolError(f"{WHAT}: payload is not UTF-16LE text ({error.reason})") from None
    # The body ends at its terminator; SCCMSecrets-style senders put CRLF after it.
    return text.split("\x00", 1)[0]


__all__ = [
    "BOUNDARY",
    "CCM_POST",
    "CONTENT_TYPE",
    "CcmMessage",
    "decode_message",
    "decode_reply",
    "encode_message",
    "encode_reply",
]

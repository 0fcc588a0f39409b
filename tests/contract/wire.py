"""The ConfigMgr wire format written out by hand, independent of harness.protocol.

Golden requests are built here, not with the harness's own encoder, so that a bug shared by the
client's encoder and the site's decoder cannot hide: both must agree with the documented bytes.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring

BOUNDARY = "aAbBcCdDv1234567890VxXyYzZ"  # the boundary SCCMSecrets sends (github.com/synacktiv/SCCMSecrets)
CONTENT_TYPE = f'multipart/mixed; boundary="{BOUNDARY}"'

# The header template, verbatim but for the values in braces.
HEADER = ('<Msg ReplyCompression="zlib" SchemaVersion="1.1"><Body Type="ByteRange" Length="{length}" Offset="0"/>'
          "<CorrelationID>{{00000000-0000-0000-0000-000000000000}}</CorrelationID>"
          '<Hooks><Hook3 Name="zlib-compress"/></Hooks><ID>{{5DD100CD-DF1D-45F5-BA17-A327F43465F8}}</ID>'
          '<Payload Type="inline"/><Priority>0</Priority><Protocol>http</Protocol><ReplyMode>Sync</ReplyMode>'
          "<ReplyTo>direct:{client}:SccmMessaging</ReplyTo><SentTime>2026-11-29T10:00:00Z</SentTime>"
          "<SourceHost>{client}</SourceHost><TargetAddress>mp:{address}</TargetAddress>"
          "<TargetEndpoint>{endpoint}</TargetEndpoint><TargetHost>{mp}</TargetHost><Timeout>60000</Timeout></Msg>")


def ccm_message(endpoint: str, body: str, *, client: str, mp: str) -> bytes:
    """A CCM_POST body: UTF-16 `<Msg>` header, then the zlib-compressed, null-terminated UTF-16LE payload."""
    payload = (body + "\x00").encode("utf-16-le")
    address = f"[http]{endpoint}" if endpoint == "MP_LocationManager" else endpoint
    header = HEADER.format(length=len(payload), client=client, address=address, endpoint=endpoint, mp=mp)
    dash = f"--{BOUNDARY}".encode()
    return b"".join((dash, b"\r\ncontent-type: text/plain; charset=UTF-16\r\n\r\n", header.encode("utf-16"),
                     b"\r\n", dash, b"\r\ncontent-type: application/octet-stream\r\n\r\n", zlib.compress(payload),
                     b"\r\n", dash, b"--\r\n"))


def ccm_reply(body: bytes, content_type: str) -> tuple[str, str]:
    """(header XML, payload XML) of a multipart reply, read the way SCCMSecrets reads one."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    assert match, f"reply content type {content_type!r} has no boundary"
    parts = [p for p in body.split(b"--" + match.group(1).encode()) if p.strip(b"\r\n-")]
    assert len(parts) == 2, f"expected a header part and a payload part, got {len(parts)}"
    header, payload = (p.split(b"\r\n\r\n", 1)[1].removesuffix(b"\r\n") for p in parts)
    return header.decode("utf-16").rstrip("\x00"), zlib.decompress(payload).decode("utf-16-le").rstrip("\x00")


# -- structure comparison ------------------------------------------------------------------------------

def xml_differences(expected: str, actual: str, values: Mapping[str, str]) -> list[str]:
    """Where `actual` departs from `expected`: element names, order and count, the exact set of attribute
    names, and each value — literal, `*` for anything, or `~regex` for a full match; `{name}` is
    replaced from `values` first."""
    try:
        got = fromstring(actual)
    except Exception as error:  # any parse failure is the finding
        return [f"reply is not XML: {error}"]
    return _compare(fromstring(expected), got, values, f"/{got.tag}")


def value_matches(pattern: str, actual: str, values: Mapping[str, str]) -> bool:
    pattern = fill(pattern, values)
    if pattern == "*":
        return True
    if pattern.startswith("~"):
        return re.fullmatch(pattern[1:], actual, re.DOTALL) is not None
    return pattern == actual


def fill(template: str, values: Mapping[str, str]) -> str:
    """`{name}` -> values[name]; unknown names are an error in the golden file, not a mismatch."""
    def one(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise KeyError(f"golden uses {{{match.group(1)}}}, which the target does not provide")
        return values[match.group(1)]
    return re.sub(r"\{([a-z_]+)\}", one, template)


def _compare(want: Element, got: Element, values: Mapping[str, str], where: str) -> list[str]:
    if want.tag != got.tag:
        return [f"{where}: element <{got.tag}>, documented <{want.tag}>"]
    problems = []
    if set(want.attrib) != set(got.attrib):
        problems.append(f"{where}: attributes {sorted(got.attrib)}, documented {sorted(want.attrib)}")
    for name, pattern in want.attrib.items():
        if name in got.attrib and not value_matches(pattern, got.attrib[name], values):
            problems.append(f"{where}/@{name}: {got.attrib[name]!r} does not match {fill(pattern, values)!r}")
    want_text, text = (want.text or "").strip(), (got.text or "").strip()
    if not value_matches(want_text, text, values):
        problems.append(f"{where}: text {text[:80]!r} does not match {fill(want_text, values)!r}")
    wanted, children = list(want), list(got)
    if [c.tag for c in wanted] != [c.tag for c in children]:
        return [*problems, f"{where}: children {[c.tag for c in children]}, documented {[c.tag for c in wanted]}"]
    seen: dict[str, int] = {}
    for w, g in zip(wanted, children, strict=True):
        seen[g.tag] = seen.get(g.tag, 0) + 1  # XPath-style position among siblings of the same name
        problems += _compare(w, g, values, f"{where}/{g.tag}[{seen[g.tag]}]")
    return problems

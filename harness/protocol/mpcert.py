"""The management point's certificate, ``GET /SMS_MP/.sms_aut?MPCERT``, which admin scripts use
beside MPLIST as an MP health probe:

``<MPCERT><Certificate>308203…</Certificate></MPCERT>``

[INFERENCE] The public sources name the request, not its reply. The shape is assumed: the DER certificate as upper-case
hex (the form ConfigMgr gives signatures and certificates in its XML) in one element.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from harness.protocol.errors import ProtocolError, child_text, expect_root, parse_xml, serialize, sub

ROOT = "MPCERT"
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")


def build_mpcert(der: bytes) -> str:
    if not der:
        raise ProtocolError(f"{ROOT}: a certificate is required")
    root = Element(ROOT)
    sub(root, "Certificate", der.hex().upper())
    return serialize(root)


def parse_mpcert(xml: str) -> bytes:
    """The DER certificate the reply carries."""
    root = parse_xml(xml, ROOT)
    expect_root(root, ROOT)
    text = child_text(root, "Certificate", ROOT).strip()
    if not _HEX.fullmatch(text):
        raise ProtocolError(f"{ROOT}: <Certificate> is not hex-encoded DER: {text[:40]!r}")
    return bytes.fromhex(text)


__all__ = ["build_mpcert", "parse_mpcert"]

"""The one error the protocol parsers raise, and the XML reading helpers that raise it.

Every parser in ``harness.protocol`` turns whatever went wrong (bad XML, a missing attribute, a number that
is not one) into a ``ProtocolError`` whose message names the document and the part that was wrong, e.g.
``ContentLocationRequest: missing <Package ID>``. The helpers live here rather than in a module of their
own so that the error and the code that produces it stay together.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring as _defused_fromstring

# A 4 MiB document is far larger than any real ConfigMgr message (a location reply is a few KiB), and
# small enough that parsing it cannot stall a test run.
MAX_XML_CHARS = 4 * 1024 * 1024
# XML 1.0 cannot carry these code points at all, escaped or not.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# 40 digits covers any 128-bit value; longer runs are refused before int() (which fails past 4,300 digits).
_INTEGER = re.compile(r"[ \t\r\n]*-?[0-9]{1,40}[ \t\r\n]*")


class ProtocolError(ValueError):
    """A message, document or URL that does not have the shape the protocol requires."""


def parse_xml(text: object, what: str) -> Element:
    """Parse ``text`` with DTDs and entities forbidden; ``what`` names the document in errors."""
    if not isinstance(text, str):
        raise ProtocolError(f"{what}: expected XML text, got {type(text).__name__}")
    if len(text) > MAX_XML_CHARS:
        raise ProtocolError(f"{what}: document is larger than {MAX_XML_CHARS} characters")
    try:
        root: Element = _defused_fromstring(text.lstrip("\ufeff"), forbid_dtd=True)
    except (ET.ParseError, ValueError) as error:  # ValueError covers defusedxml's refusals and bad unicode
        raise ProtocolError(f"{what}: not well-formed XML ({error})") from None
    return root


def expect_root(root: Element, tag: str, what: str | None = None) -> None:
    if root.tag != tag:
        raise ProtocolError(f"{what or tag}: root element is <{root.tag}>, expected <{tag}>")


def child(parent: Element, path: str, what: str) -> Element:
    found = parent.find(path)
    if found is None:
        raise ProtocolError(f"{what}: missing <{path.rsplit('/', 1)[-1]}>")
    return found


def attr(element: Element, name: str, what: str) -> str:
    value = element.get(name)
    if value is None:
        raise ProtocolError(f"{what}: missing <{element.tag} {name}>")
    return value


def text_of(element: Element) -> str:
    return element.text or ""


def child_text(parent: Element, path: str, what: str) -> str:
    return text_of(child(parent, path, what))


def to_int(value: str, what: str, field: str, *, minimum: int | None = None) -> int:
    """Strict decimal integer: no underscores, no non-ASCII digits, unlike ``int()``."""
    if not _INTEGER.fullmatch(value):
        raise ProtocolError(f"{what}: {field} is not an integer: {value!r}")
    number = int(value)
    if minimum is not None and number < minimum:
        raise ProtocolError(f"{what}: {field} must be at least {minimum}, got {number}")
    return number


def to_bool01(value: str, what: str, field: str) -> bool:
    if value not in ("0", "1"):
        raise ProtocolError(f"{what}: {field} must be \"0\" or \"1\", got {value!r}")
    return value == "1"


def bool01(flag: bool) -> str:
    return "1" if flag else "0"


def serialize(root: Element) -> str:
    """XML text without a declaration (the MP's handlers look at how a body starts).

    A carriage return in element text is written as ``&#13;`` because XML parsers turn a raw one into a
    line feed; attribute values already get that from ElementTree.
    """
    text = ET.tostring(root, encoding="unicode").replace("\r", "&#13;")
    bad = _NOT_XML.search(text)
    if bad is not None:
        raise ProtocolError(f"{root.tag}: a value contains U+{ord(bad.group()):04X}, which XML cannot carry")
    return text


def sub(parent: Element, tag: str, text: str | None = None, /, **attributes: str) -> Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = text
    return element


__all__ = [
    "MAX_XML_CHARS",
    "ProtocolError",
    "attr",
    "bool01",
    "child",
    "child_text",
    "expect_root",
    "parse_xml",
    "serialize",
    "sub",
    "text_of",
    "to_bool01",
    "to_int",
]

"""The management point list, ``GET /SMS_MP/.sms_aut?MPLIST``, also used as an MP health probe:

``<MPList><MP Name="CM01.CORP.CONTOSO.EXAMPLE" FQDN="cm01.corp.contoso.example"><Version>9040</Version>
<Capabilities SchemaVersion="1.0"><Property Name="SSL" Value="1"/></Capabilities></MP></MPList>``
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from harness.protocol.errors import (
    ProtocolError,
    bool01,
    child_text,
    expect_root,
    parse_xml,
    serialize,
    sub,
    to_bool01,
    to_int,
)

ROOT = "MPList"


@dataclass(frozen=True)
class MPEntry:
    fqdn: str
    version: int  # build number, e.g. 9040
    ssl: bool = True


def build_mplist(entries: Iterable[MPEntry]) -> str:
    root = Element(ROOT)
    for entry in entries:
        mp = sub(root, "MP", Name=entry.fqdn.upper(), FQDN=entry.fqdn)
        sub(mp, "Version", str(entry.version))
        capabilities = sub(mp, "Capabilities", SchemaVersion="1.0")
        sub(capabilities, "Property", Name="SSL", Value=bool01(entry.ssl))
    return serialize(root)


def parse_mplist(xml: str) -> tuple[MPEntry, ...]:
    root = parse_xml(xml, ROOT)
    expect_root(root, ROOT)
    return tuple(_entry(element) for element in root.findall("MP"))


def _entry(element: Element) -> MPEntry:
    # Name is the upper-case FQDN; FQDN keeps the case the site was given. Either will do.
    fqdn = element.get("FQDN") or (element.get("Name") or "").lower()
    if not fqdn:
        raise ProtocolError(f"{ROOT}: missing <MP FQDN>")
    version = to_int(child_text(element, "Version", ROOT), ROOT, f"<Version> of {fqdn}")
    return MPEntry(fqdn=fqdn, version=version, ssl=_ssl(element, fqdn))


def _ssl(element: Element, fqdn: str) -> bool:
    for prop in element.findall("Capabilities/Property"):
        if prop.get("Name") == "SSL":
            return to_bool01(prop.get("Value", ""), ROOT, f"<Property Name=\"SSL\"> of {fqdn}")
    return False


__all__ = ["MPEntry", "build_mplist", "parse_mplist"]

"""Site information, a ``SiteInformationRequest`` to ``MP_LocationManager``.

The reply's ``<Site><SiteCode/><Version/><BuildNumber/>`` is documented; [INFERENCE] the request's shape,
the reply's root element and ``<FullVersion>`` (the release label, e.g. 1910) are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from harness.protocol.errors import (
    ProtocolError,
    attr,
    child,
    child_text,
    expect_root,
    parse_xml,
    serialize,
    sub,
    to_int,
)

REQUEST = "SiteInformationRequest"
REPLY = "SiteInfoReply"


@dataclass(frozen=True)
class SiteInfo:
    site_code: str
    version: str  # product version, e.g. "5.00.8913.1000"
    build_number: int  # e.g. 8913
    full_version_label: str  # release, e.g. "1910"


def build_site_info_request(site_code: str) -> str:
    root = Element(REQUEST, SchemaVersion="1.00")
    sub(root, "SiteCode", Name=site_code)
    return serialize(root)


def parse_site_info_request(xml: str) -> str:
    root = parse_xml(xml, REQUEST)
    expect_root(root, REQUEST)
    return attr(child(root, "SiteCode", REQUEST), "Name", REQUEST)


def build_site_info_reply(info: SiteInfo) -> str:
    root = Element(REPLY, SchemaVersion="1.00")
    site = sub(root, "Site")
    sub(site, "SiteCode", info.site_code)
    sub(site, "Version", info.version)
    sub(site, "BuildNumber", str(info.build_number))
    sub(site, "FullVersion", info.full_version_label)
    return serialize(root)


def parse_site_info_reply(xml: str) -> SiteInfo:
    """Takes any root holding a ``<Site>``: the real reply's root element is not documented."""
    root = parse_xml(xml, REPLY)
    site = root if root.tag == "Site" else root.find(".//Site")
    if site is None:
        raise ProtocolError(f"{REPLY}: missing <Site>")
    full_version = site.find("FullVersion")
    return SiteInfo(
        site_code=child_text(site, "SiteCode", REPLY),
        version=child_text(site, "Version", REPLY),
        build_number=to_int(child_text(site, "BuildNumber", REPLY), REPLY, "<BuildNumber>", minimum=0),
        full_version_label="" if full_version is None else full_version.text or "",
    )


__all__ = ["SiteInfo", "build_site_info_reply", "build_site_info_request", "parse_site_info_reply",
           "parse_site_info_request"]

"""Content location request and reply, as LocationServices.log shows them (B-13, B-14).

The client asks its management point where a package is (``ContentLocationRequest``); the MP answers with
the sources the client may use (``ContentLocationReply``). The shapes follow the documented examples;
what the documents do not show is marked [INFERENCE].
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from harness.protocol.errors import (
    ProtocolError,
    attr,
    bool01,
    child,
    child_text,
    expect_root,
    parse_xml,
    serialize,
    sub,
    to_bool01,
    to_int,
)

REQUEST = "ContentLocationRequest"
REPLY = "ContentLocationReply"
CALG_SHA_256 = "32780"  # 0x800C; [INFERENCE] the documented replies carry 32780 for SHA-256 hashes
HASH_PREFERENCE = "4"
# [INFERENCE] the docs say the MP hands out a 24-hour access token with the sources; its element is unknown.
ACCESS_TOKEN = "ContentAccessToken"
ACCESS_TOKEN_LIFETIME = "PT24H"


@dataclass(frozen=True)
class ContentLocationRequest:
    package_id: str
    package_version: int
    site_code: str
    use_azure: bool
    use_internet_dp: bool
    dp_token_auth: bool = True
    allow_http: bool = True
    allow_smb: bool = False
    allow_super_peer: bool = False
    location_type: str = "SMSPackage"
    deployment_flags: int = 0
    ad_site: str = "Default-First-Site-Name"
    forest: str = "contoso.example"
    domain: str = "contoso.example"
    bgr_version: int | None = 1  # the boundary-group schema the client speaks; None: an old client without it


# ClientLocationInfo flag attributes -> request field. An absent one reads as "0": older clients omit the
# flags they do not know (DPTokenAuth is missing from pre-token-auth logs).
_FLAGS = {
    "UseAzure": "use_azure",
    "UseInternetDP": "use_internet_dp",
    "AllowHTTP": "allow_http",
    "AllowSMB": "allow_smb",
    "AllowSuperPeer": "allow_super_peer",
    "DPTokenAuth": "dp_token_auth",
}


def build_location_request(req: ContentLocationRequest) -> str:
    bgr = {} if req.bgr_version is None else {"BGRVersion": str(req.bgr_version)}
    root = Element(REQUEST, {"SchemaVersion": "1.00", **bgr, "ClientInOperation": "PT0M", "ExcludeFileList": ""})
    sub(root, "Package", ID=req.package_id, Version=str(req.package_version),
        DeploymentFlags=str(req.deployment_flags))
    sub(root, "AssignedSite", SiteCode=req.site_code)
    info = sub(root, "ClientLocationInfo", LocationType=req.location_type, DistributeOnDemand="0",
               UseAzure=bool01(req.use_azure), AllowWUMU="0", UseInternetDP=bool01(req.use_internet_dp),
               AllowHTTP=bool01(req.allow_http), AllowSMB=bool01(req.allow_smb), AllowMulticast="0",
               AllowSuperPeer=bool01(req.allow_super_peer), DPTokenAuth=bool01(req.dp_token_auth))
    sub(info, "ADSite", Name=req.ad_site)
    sub(info, "Forest", Name=req.forest)
    sub(info, "Domain", Name=req.domain)
    return serialize(root)


def parse_location_request(xml: str) -> ContentLocationRequest:
    root = parse_xml(xml, REQUEST)
    expect_root(root, REQUEST)
    package = child(root, "Package", REQUEST)
    info = child(root, "ClientLocationInfo", REQUEST)
    flags = {field: to_bool01(info.get(name, "0"), REQUEST, f"<ClientLocationInfo {name}>")
             for name, field in _FLAGS.items()}
    return ContentLocationRequest(
        package_id=attr(package, "ID", REQUEST),
        package_version=to_int(attr(package, "Version", REQUEST), REQUEST, "<Package Version>"),
        site_code=attr(child(root, "AssignedSite", REQUEST), "SiteCode", REQUEST),
        location_type=info.get("LocationType", "SMSPackage"),
        deployment_flags=to_int(package.get("DeploymentFlags", "0"), REQUEST, "<Package DeploymentFlags>"),
        ad_site=_name(info, "ADSite"),
        forest=_name(info, "Forest"),
        domain=_name(info, "Domain"),
        bgr_version=None if root.get("BGRVersion") is None else to_int(root.get("BGRVersion", ""), REQUEST,
                                                                        "BGRVersion", minimum=0),
        **flags,
    )


def _name(info: Element, tag: str) -> str:
    # A client outside any AD site or domain sends no element; that reads as the empty name.
    element = info.find(tag)
    return "" if element is None else element.get("Name", "")


@dataclass(frozen=True)
class LocationRecord:
    url: str
    server_remote_name: str
    locality: str
    dp_type: str  # "SERVER" for an on-prem DP; [INFERENCE] "CLOUD" for cloud sources is synthetic
    version: int = 9040
    signature_url: str | None = None
    capabilities: tuple[tuple[str, str], ...] = (("SSLState", "0"),)


@dataclass(frozen=True)
class ContentLocationReply:
    site_code: str
    site_locality: str
    records: tuple[LocationRecord, ...]
    hash_sha256: str | None = None
    access_token: str | None = None
    # Echoed from the request: a client that speaks boundary-group schema 1 gets the <BoundaryGroups> block
    # the documented CB2010 reply opens with (B-54); `boundary_groups_time` is its retrieve time.
    bgr_version: int | None = None
    boundary_groups_time: str = ""


def build_location_reply(reply: ContentLocationReply) -> str:
    root = Element(REPLY, SchemaVersion="1.00")
    if reply.bgr_version is not None:
        root.set("BGRVersion", str(reply.bgr_version))
        groups = sub(root, "BoundaryGroups", BoundaryGroupListRetrieveTime=reply.boundary_groups_time, IsOnVPN="0")
        sub(groups, "DOINCServers")
    # The documented FALLBACK reply has a bare <ContentInfo/> and an MPSite without ports (B-14).
    fallback = not reply.records
    if fallback:
        sub(root, "ContentInfo")
    else:
        hashes = sub(sub(root, "ContentInfo", PackageFlags="0"), "ContentHashValues")
        if reply.hash_sha256 is not None:
            # [INFERENCE] ContentFlags' bits are undocumented (the example shows 200960); none are claimed here.
            root.attrib.update(ContentFlags="0", HashAlgorithm=CALG_SHA_256, AlgorithmPreference=HASH_PREFERENCE,
                               Hash=reply.hash_sha256)
            sub(hashes, "Hash", Algorithm=CALG_SHA_256, HashString=reply.hash_sha256,
                HashPreference=HASH_PREFERENCE)
    site = sub(sub(root, "Sites"), "Site")
    ports = {} if fallback else {"IISPreferedPort": "80", "IISSSLPreferedPort": "443"}
    sub(site, "MPSite", SiteCode=reply.site_code, MasterSiteCode=reply.site_code,
        SiteLocality=reply.site_locality, **ports)
    records = sub(site, "LocationRecords")
    for record in reply.records:
        records.append(_record_element(record))
    sub(root, "RelatedContentIDs")
    if reply.access_token is not None:
        sub(root, ACCESS_TOKEN, reply.access_token, Lifetime=ACCESS_TOKEN_LIFETIME)
    return serialize(root)


def _record_element(record: LocationRecord) -> Element:
    element = Element("LocationRecord")
    url = sub(element, "URL", Name=record.url)
    if record.signature_url is not None:
        url.set("Signature", record.signature_url)
    # [INFERENCE] the record carries no AD site or subnet of its own here; empty values keep the shape.
    sub(element, "ADSite", Name="")
    sub(sub(element, "IPSubnets"), "IPSubnet", Address="")
    sub(element, "Metric", Value="")
    sub(element, "Version", str(record.version))
    capabilities = sub(element, "Capabilities", SchemaVersion="1.0")
    for name, value in record.capabilities:
        sub(capabilities, "Property", Name=name, Value=value)
    sub(element, "ServerRemoteName", record.server_remote_name)
    sub(element, "DPType", record.dp_type)
    sub(element, "Windows", Trust="1")
    sub(element, "Locality", record.locality)
    return element


def parse_location_reply(xml: str) -> ContentLocationReply:
    """The first site's code and locality, and the records of every site in the reply."""
    root = parse_xml(xml, REPLY)
    expect_root(root, REPLY)
    sites = child(root, "Sites", REPLY).findall("Site")
    if not sites:
        raise ProtocolError(f"{REPLY}: missing <Site>")
    mp_site = child(sites[0], "MPSite", REPLY)
    token = root.find(ACCESS_TOKEN)
    return ContentLocationReply(
        site_code=attr(mp_site, "SiteCode", REPLY),
        site_locality=attr(mp_site, "SiteLocality", REPLY),
        records=tuple(_record(element) for site in sites
                      for element in site.findall("LocationRecords/LocationRecord")),
        hash_sha256=_hash(root),
        access_token=None if token is None else token.text or "",
        bgr_version=None if root.get("BGRVersion") is None else to_int(root.get("BGRVersion", ""), REPLY,
                                                                        "BGRVersion", minimum=0),
        boundary_groups_time=_retrieve_time(root),
    )


def _retrieve_time(root: Element) -> str:
    groups = root.find("BoundaryGroups")
    return "" if groups is None else groups.get("BoundaryGroupListRetrieveTime", "")


def _record(element: Element) -> LocationRecord:
    url = child(element, "URL", REPLY)
    return LocationRecord(
        url=attr(url, "Name", REPLY),
        signature_url=url.get("Signature"),
        server_remote_name=child_text(element, "ServerRemoteName", REPLY),
        locality=child_text(element, "Locality", REPLY),
        dp_type=child_text(element, "DPType", REPLY),
        version=to_int(child_text(element, "Version", REPLY), REPLY, "<LocationRecord Version>"),
        capabilities=tuple((attr(p, "Name", REPLY), attr(p, "Value", REPLY))
                           for p in element.findall("Capabilities/Property")),
    )


def _hash(root: Element) -> str | None:
    if root.get("HashAlgorithm") == CALG_SHA_256 and root.get("Hash") is not None:
        return root.get("Hash")
    for element in root.findall("ContentInfo/ContentHashValues/Hash"):
        if element.get("Algorithm") == CALG_SHA_256:
            return attr(element, "HashString", REPLY)
    return None


__all__ = [
    "ContentLocationReply",
    "ContentLocationRequest",
    "LocationRecord",
    "build_location_reply",
    "build_location_request",
    "parse_location_reply",
    "parse_location_request",
]

import re

import pytest

from harness.protocol.errors import ProtocolError
from harness.protocol.location import (
    ContentLocationReply,
    ContentLocationRequest,
    LocationRecord,
    build_location_reply,
    build_location_request,
    parse_location_reply,
    parse_location_request,
)

# Verbatim (LocationServices.log, modern client; B-13).
DOCUMENTED_REQUEST = """\
<ContentLocationRequest SchemaVersion="1.00" BGRVersion="1" ClientInOperation="PT0M" ExcludeFileList="">
  <Package ID="CAS00015" Version="1" DeploymentFlags="9223372036855313105"/>
  <AssignedSite SiteCode="P01"/>
  <ClientLocationInfo LocationType="SMSPackage" DistributeOnDemand="0" UseAzure="1" AllowWUMU="0"
      UseInternetDP="0" AllowHTTP="1" AllowSMB="1" AllowMulticast="1" AllowSuperPeer="1" DPTokenAuth="1">
    <ADSite Name="Default-First-Site-Name"/><Forest Name="Contoso.Com"/><Domain Name="Contoso.Com"/>
    <IPAddresses><IPAddress SubnetAddress="192.X.X.X" Address="192.X.X.X"/></IPAddresses>
    <Adapters><Adapter Name="Ethernet" IfType="6" PhysicalAddressExists="1" DnsSuffix="abc.com" Description="Network Adapter"/></Adapters>
    <BoundaryGroups BoundaryGroupListRetrieveTime="2021-04-03T14:03:16.603" IsOnVPN="0">
      <BoundaryGroup GroupID="5" GroupGUID="xxxx" GroupFlag="0"/>
      <DOINCServers><DOINCServer DOINCServer="P01.Contoso.Com"/></DOINCServers></BoundaryGroups>
  </ClientLocationInfo></ContentLocationRequest>"""  # noqa: E501

# Normal on-prem hit (B-15), with the "…" of the content ID filled in.
DOCUMENTED_REPLY = """\
<ContentLocationReply SchemaVersion="1.00"><ContentInfo PackageFlags="0"><ContentHashValues/></ContentInfo>
 <Sites><Site><MPSite SiteCode="PR1" MasterSiteCode="PR1" SiteLocality="LOCAL" IISPreferedPort="80" IISSSLPreferedPort="443"/>
  <LocationRecords><LocationRecord>
    <URL Name="http://PR1SITE.CONTOSO.COM/SMS_DP_SMSPKG$/fbb5724a-8dc3-4f1e-9a8e-0e2f3c4d5b6a" Signature="http://PR1SITE.CONTOSO.COM/SMS_DP_SMSSIG$/fbb5724a-8dc3-4f1e-9a8e-0e2f3c4d5b6a.1.tar"/>
    <ADSite Name="Default-First-Site-Name"/><IPSubnets><IPSubnet Address="192.168.10.0"/><IPSubnet Address=""/></IPSubnets>
    <Metric Value=""/><Version>7958</Version>
    <Capabilities SchemaVersion="1.0"><Property Name="SSLState" Value="0"/></Capabilities>
    <ServerRemoteName>PR1SITE.CONTOSO.COM</ServerRemoteName><DPType>SERVER</DPType><Windows Trust="1"/><Locality>LOCAL</Locality>
  </LocationRecord></LocationRecords></Site></Sites><RelatedContentIDs/></ContentLocationReply>"""  # noqa: E501

# Content not available to an internet client via CMG (CB2010, B-14), verbatim.
DOCUMENTED_FALLBACK = """\
<ContentLocationReply SchemaVersion="1.00" BGRVersion="1"><BoundaryGroups BoundaryGroupListRetrieveTime="2021-01-19T13:27:45.467" IsOnVPN="0"><DOINCServers/></BoundaryGroups>
 <ContentInfo/><Sites><Site><MPSite SiteCode="ABC" MasterSiteCode="ABC" SiteLocality="FALLBACK"/><LocationRecords/></Site></Sites><RelatedContentIDs/></ContentLocationReply>"""  # noqa: E501

HASH = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
# Hash variant (B-30): root attributes plus a <Hash> under ContentHashValues.
DOCUMENTED_HASH_REPLY = f"""\
<ContentLocationReply SchemaVersion="1.00" ContentFlags="200960" HashAlgorithm="32780" AlgorithmPreference="4"
 Hash="{HASH}"><ContentInfo PackageFlags="0"><ContentHashValues><Hash Algorithm="32780" HashString="{HASH}"
 HashPreference="4"/></ContentHashValues></ContentInfo><Sites><Site>
 <MPSite SiteCode="PR1" SiteLocality="LOCAL"/><LocationRecords/></Site></Sites><RelatedContentIDs/>
</ContentLocationReply>"""

CLOUD = LocationRecord(
    url="https://cmg.contoso.example/downloadrestservice.svc/getcontentxmlsecure?pid=PS100004&cid=PS100004",
    server_remote_name="CMG.CONTOSO.EXAMPLE",
    locality="INTERNET",
    dp_type="CLOUD",
    capabilities=(("SSLState", "1"), ("AuthMethod", "1024")),
)
DP = LocationRecord(
    url="https://cm01/SMS_DP_SMSPKG$/PS100004",
    server_remote_name="CM01",
    locality="LOCAL",
    dp_type="SERVER",
    version=8913,
    signature_url="https://cm01/SMS_DP_SMSSIG$/PS100004.1.tar",
)


def test_documented_request_parses() -> None:
    assert parse_location_request(DOCUMENTED_REQUEST) == ContentLocationRequest(
        package_id="CAS00015",
        package_version=1,
        site_code="P01",
        use_azure=True,
        use_internet_dp=False,
        dp_token_auth=True,
        allow_http=True,
        allow_smb=True,
        allow_super_peer=True,
        location_type="SMSPackage",
        deployment_flags=9223372036855313105,
        ad_site="Default-First-Site-Name",
        forest="Contoso.Com",
        domain="Contoso.Com",
    )


def test_request_round_trip() -> None:
    request = ContentLocationRequest(
        "PS100004", 3, "PS1", use_azure=True, use_internet_dp=True, allow_super_peer=True, deployment_flags=17
    )
    text = build_location_request(request)
    assert text.startswith('<ContentLocationRequest SchemaVersion="1.00" BGRVersion="1"')
    assert parse_location_request(text) == request


def test_absent_flags_read_as_zero_and_absent_names_as_empty() -> None:
    request = parse_location_request(
        '<ContentLocationRequest><Package ID="P" Version="1"/><AssignedSite SiteCode="S"/>'
        '<ClientLocationInfo UseAzure="0"/></ContentLocationRequest>'
    )
    assert (request.dp_token_auth, request.allow_http, request.location_type, request.ad_site) == (
        False,
        False,
        "SMSPackage",
        "",
    )


def test_documented_reply_parses() -> None:
    assert parse_location_reply(DOCUMENTED_REPLY) == ContentLocationReply(
        site_code="PR1",
        site_locality="LOCAL",
        records=(
            LocationRecord(
                url="http://PR1SITE.CONTOSO.COM/SMS_DP_SMSPKG$/fbb5724a-8dc3-4f1e-9a8e-0e2f3c4d5b6a",
                signature_url="http://PR1SITE.CONTOSO.COM/SMS_DP_SMSSIG$/fbb5724a-8dc3-4f1e-9a8e-0e2f3c4d5b6a.1.tar",
                server_remote_name="PR1SITE.CONTOSO.COM",
                locality="LOCAL",
                dp_type="SERVER",
                version=7958,
                capabilities=(("SSLState", "0"),),
            ),
        ),
    )


def test_documented_fallback_reply_parses_as_empty() -> None:
    reply = parse_location_reply(DOCUMENTED_FALLBACK)
    assert reply == ContentLocationReply(site_code="ABC", site_locality="FALLBACK", records=(), bgr_version=1,
                                         boundary_groups_time="2021-01-19T13:27:45.467")


def test_an_empty_reply_is_built_in_the_documented_fallback_shape() -> None:
    reply = ContentLocationReply(site_code="ABC", site_locality="FALLBACK", records=(), bgr_version=1,
                                 boundary_groups_time="2021-01-19T13:27:45.467")
    # The same bytes but for ElementTree's space before "/>", which XML readers ignore.
    assert build_location_reply(reply).replace(" />", "/>") == re.sub(r">\s+<", "><", DOCUMENTED_FALLBACK)


def test_documented_hash_variant_parses() -> None:
    assert parse_location_reply(DOCUMENTED_HASH_REPLY).hash_sha256 == HASH


def test_hash_from_content_hash_values_alone() -> None:
    text = DOCUMENTED_HASH_REPLY.replace(' HashAlgorithm="32780"', "")
    assert parse_location_reply(text).hash_sha256 == HASH


def test_reply_round_trip_with_hash_and_token() -> None:
    reply = ContentLocationReply("PS1", "LOCAL", (DP, CLOUD), hash_sha256=HASH, access_token="abc.def")
    text = build_location_reply(reply)
    assert f'HashAlgorithm="32780" AlgorithmPreference="4" Hash="{HASH}"' in text
    assert f'<Hash Algorithm="32780" HashString="{HASH}" HashPreference="4" />' in text
    assert '<ContentAccessToken Lifetime="PT24H">abc.def</ContentAccessToken>' in text
    assert parse_location_reply(text) == reply


def test_reply_round_trip_empty() -> None:
    reply = ContentLocationReply("PS1", "FALLBACK", ())
    text = build_location_reply(reply)
    assert "ContentAccessToken" not in text and "Hash=" not in text
    assert parse_location_reply(text) == reply


def test_records_of_every_site_are_kept() -> None:
    two_sites = DOCUMENTED_REPLY.replace(
        "</Site></Sites>",
        "</Site>"
        + DOCUMENTED_REPLY.split("<Sites>")[1].split("</Sites>")[0].replace("PR1", "PR2")
        + "</Sites>",
    )
    reply = parse_location_reply(two_sites)
    assert reply.site_code == "PR1"
    assert [r.server_remote_name for r in reply.records] == ["PR1SITE.CONTOSO.COM", "PR2SITE.CONTOSO.COM"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('ID="CAS00015" ', "", r"^ContentLocationRequest: missing <Package ID>$"),
        ('<AssignedSite SiteCode="P01"/>', "", r"^ContentLocationRequest: missing <AssignedSite>$"),
        (
            'Version="1" Deploy',
            'Version="one" Deploy',
            r"^ContentLocationRequest: <Package Version> is not an integer: 'one'",
        ),
        ('UseAzure="1"', 'UseAzure="yes"', r"^ContentLocationRequest: <ClientLocationInfo UseAzure> must be"),
        (
            "<ContentLocationRequest ",
            "<ContentLocationReply ",
            r"^ContentLocationRequest: not well-formed XML",
        ),
        ("</ClientLocationInfo>", "", r"^ContentLocationRequest: not well-formed XML"),
    ],
)
def test_request_errors_name_the_problem(old: str, new: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_location_request(DOCUMENTED_REQUEST.replace(old, new, 1))


def test_request_with_wrong_root() -> None:
    with pytest.raises(
        ProtocolError, match=r"^ContentLocationRequest: root element is <ContentLocationReply>"
    ):
        parse_location_request(DOCUMENTED_REPLY)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('<MPSite SiteCode="PR1" ', "<MPSite ", r"^ContentLocationReply: missing <MPSite SiteCode>$"),
        (
            "<Version>7958</Version>",
            "<Version>v7958</Version>",
            r"<LocationRecord Version> is not an integer",
        ),
        ("<DPType>SERVER</DPType>", "", r"^ContentLocationReply: missing <DPType>$"),
        ("<URL Name=", "<URL Nom=", r"^ContentLocationReply: missing <URL Name>$"),
    ],
)
def test_reply_errors_name_the_problem(old: str, new: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_location_reply(DOCUMENTED_REPLY.replace(old, new, 1))


@pytest.mark.parametrize(("sites", "missing"), [("", "Sites"), ("<Sites/>", "Site")])
def test_reply_without_a_site(sites: str, missing: str) -> None:
    with pytest.raises(ProtocolError, match=f"^ContentLocationReply: missing <{missing}>$"):
        parse_location_reply(f"<ContentLocationReply>{sites}</ContentLocationReply>")

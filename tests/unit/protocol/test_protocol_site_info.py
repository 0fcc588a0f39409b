import pytest

from harness.protocol.errors import ProtocolError
from harness.protocol.site_info import (
    SiteInfo,
    build_site_info_reply,
    build_site_info_request,
    parse_site_info_reply,
    parse_site_info_request,
)

REPLY = (
    '<SiteInfoReply SchemaVersion="1.00"><Site><SiteCode>PS1</SiteCode><Version>5.00.8913.1000</Version>'
    "<BuildNumber>8913</BuildNumber><FullVersion>1910</FullVersion></Site></SiteInfoReply>"
)
INFO = SiteInfo("PS1", "5.00.8913.1000", 8913, "1910")


def test_request_round_trip() -> None:
    text = build_site_info_request("PS1")
    assert (
        text
        == '<SiteInformationRequest SchemaVersion="1.00"><SiteCode Name="PS1" /></SiteInformationRequest>'
    )
    assert parse_site_info_request(text) == "PS1"


def test_reply_has_the_agreed_shape_and_round_trips() -> None:
    assert build_site_info_reply(INFO) == REPLY
    assert parse_site_info_reply(REPLY) == INFO


def test_documented_fields_alone_are_enough() -> None:
    # Documented: <Site><SiteCode/><Version/><BuildNumber/>, under an unknown root.
    text = "<Reply><Site><SiteCode>PS1</SiteCode><Version>5.00.9040.1000</Version><BuildNumber>9040</BuildNumber></Site></Reply>"  # noqa: E501
    assert parse_site_info_reply(text) == SiteInfo("PS1", "5.00.9040.1000", 9040, "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<SiteInformationRequest/>", r"^SiteInformationRequest: missing <SiteCode>$"),
        (
            "<SiteInformationRequest><SiteCode/></SiteInformationRequest>",
            r"^SiteInformationRequest: missing <SiteCode Name>$",
        ),
        ("<SiteInfoReply/>", r"^SiteInformationRequest: root element is <SiteInfoReply>"),
    ],
)
def test_request_errors(text: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_site_info_request(text)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("<Site>", "<Sight>", r"^SiteInfoReply: not well-formed XML"),
        ("<BuildNumber>8913</BuildNumber>", "", r"^SiteInfoReply: missing <BuildNumber>$"),
        ("8913<", "1910a<", r"^SiteInfoReply: <BuildNumber> is not an integer: '1910a'$"),
        ("<SiteCode>PS1</SiteCode>", "", r"^SiteInfoReply: missing <SiteCode>$"),
    ],
)
def test_reply_errors(old: str, new: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_site_info_reply(REPLY.replace(old, new, 1))


def test_reply_without_site() -> None:
    with pytest.raises(ProtocolError, match=r"^SiteInfoReply: missing <Site>$"):
        parse_site_info_reply("<SiteInfoReply/>")

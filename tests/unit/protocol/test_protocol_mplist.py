import pytest

from harness.protocol.errors import ProtocolError
from harness.protocol.mplist import MPEntry, build_mplist, parse_mplist

DOCUMENTED = (
    '<MPList><MP Name="CM01.CORP.CONTOSO.EXAMPLE" FQDN="cm01.corp.contoso.example"><Version>9040</Version>'
    '<Capabilities SchemaVersion="1.0"><Property Name="SSL" Value="1"/></Capabilities></MP></MPList>'
)


def test_documented_list_parses() -> None:
    assert parse_mplist(DOCUMENTED) == (MPEntry("cm01.corp.contoso.example", 9040, ssl=True),)


def test_build_gives_the_documented_shape() -> None:
    assert build_mplist([MPEntry("cm01.corp.contoso.example", 9040)]) == DOCUMENTED.replace('"/>', '" />')


def test_round_trip() -> None:
    entries = (
        MPEntry("cm01.corp.contoso.example", 9040),
        MPEntry("cm02.corp.contoso.example", 8913, ssl=False),
    )
    assert parse_mplist(build_mplist(entries)) == entries
    assert parse_mplist(build_mplist([])) == ()


def test_name_stands_in_for_a_missing_fqdn_and_no_ssl_property_means_no_ssl() -> None:
    assert parse_mplist('<MPList><MP Name="CM01.CORP"><Version>9040</Version></MP></MPList>') == (
        MPEntry("cm01.corp", 9040, ssl=False),
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('Name="CM01.CORP.CONTOSO.EXAMPLE" FQDN="cm01.corp.contoso.example"', "", r"missing <MP FQDN>$"),
        ("<Version>9040</Version>", "", r"missing <Version>$"),
        ("9040", "9.0", r"<Version> of cm01.corp.contoso.example is not an integer: '9.0'$"),
        (
            'Value="1"',
            'Value="yes"',
            r'<Property Name="SSL"> of cm01.corp.contoso.example must be "0" or "1"',
        ),
    ],
)
def test_errors_name_the_problem(old: str, new: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=f"^MPList: {message}"):
        parse_mplist(DOCUMENTED.replace(old, new, 1))

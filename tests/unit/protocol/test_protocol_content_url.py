from datetime import UTC, datetime, timedelta, timezone

import pytest

from harness.protocol.content_url import ContentUrl, build_content_url, parse_content_query, parse_content_url
from harness.protocol.errors import ProtocolError
from harness.protocol.tokens import CONTENT_URL_WINDOW

# DataTransferService.log (B-56), with the "…" of the tid filled in.
DOCUMENTED = (
    "https://cmg1.contoso.com:443/downloadrestservice.svc/getcontentxmlsecure?pid=CMG00013&cid=CMG00013"
    "&tid=GUID:3fb5cf5d-1c2b-4a4e-9b0e-6f0c2d7e8a91&iss=CMDP.IAAS2.CONTOSO.COM"
    "&alg=1.2.840.113549.1.1.11&st=2019-11-19T01:44:04&et=2019-11-19T09:44:04"
)
PARSED = ContentUrl(
    base="https://cmg1.contoso.com:443",
    package_id="CMG00013",
    content_id="CMG00013",
    tid="GUID:3fb5cf5d-1c2b-4a4e-9b0e-6f0c2d7e8a91",
    issuer="CMDP.IAAS2.CONTOSO.COM",
    start=datetime(2019, 11, 19, 1, 44, 4, tzinfo=UTC),
    end=datetime(2019, 11, 19, 9, 44, 4, tzinfo=UTC),
)


def test_documented_url_parses() -> None:
    parsed = parse_content_url(DOCUMENTED)
    assert parsed == PARSED
    assert parsed.end - parsed.start == CONTENT_URL_WINDOW


def test_build_gives_the_documented_url() -> None:
    assert build_content_url(PARSED) == DOCUMENTED


def test_times_are_written_in_utc() -> None:
    local = PARSED.start.astimezone(timezone(timedelta(hours=-8)))
    url = build_content_url(
        ContentUrl("https://cmg", "P", "P", "GUID:x", "MP", local, local + timedelta(hours=8))
    )
    assert "st=2019-11-19T01:44:04&et=2019-11-19T09:44:04" in url


def test_values_are_escaped_and_unescaped() -> None:
    odd = ContentUrl("https://cmg", "P&1", "C=2", "GUID:a b", "mp+1", PARSED.start, PARSED.end)
    url = build_content_url(odd)
    assert "pid=P%261&cid=C%3D2&tid=GUID:a%20b&iss=mp%2B1" in url
    assert parse_content_url(url) == odd


def test_parse_content_query_reports_the_base_back() -> None:
    params = {
        "pid": "P",
        "cid": "C",
        "tid": "GUID:1",
        "iss": "MP",
        "alg": "1.2.840.113549.1.1.11",
        "st": "2019-11-19T01:44:04",
        "et": "2019-11-19T09:44:04",
    }
    parsed = parse_content_query(params, "https://cmg.example:4443")
    assert (parsed.base, parsed.package_id, parsed.end) == ("https://cmg.example:4443", "P", PARSED.end)


@pytest.mark.parametrize("name", ["pid", "cid", "tid", "iss", "alg", "st", "et"])
def test_missing_parameter_is_named(name: str) -> None:
    base, query = DOCUMENTED.split("?")
    url = base + "?" + "&".join(part for part in query.split("&") if not part.startswith(f"{name}="))
    with pytest.raises(ProtocolError, match=f"^content URL: missing parameter {name}$"):
        parse_content_url(url)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("st=2019-11-19T01:44:04", "st=2019-11-19 01:44", "parameter st is not a UTC time"),
        ("et=2019-11-19T09:44:04", "et=2019-1-9T9:44:04", "parameter et is not a UTC time"),
        ("et=2019-11-19T09:44:04", "et=2019-02-30T09:44:04", "parameter et is not a UTC time"),
        (
            "et=2019-11-19T09:44:04",
            "et=2019-11-18T09:44:04",
            r"parameter et \(2019-11-18T09:44:04\) is before st",
        ),
        ("tid=GUID:", "tid=", "parameter tid must be GUID:<guid>"),
        ("&alg=", "&pid=X&alg=", "parameter pid is given more than once"),
        ("getcontentxmlsecure", "getcontent", "path '/downloadrestservice.svc/getcontent' does not end in"),
        ("https://", "ftp://", "scheme 'ftp' is not http or https"),
        ("https://cmg1.contoso.com:443", "https://", "'https:///downloadrestservice.svc/.*' has no host"),
        ("cmg1.contoso.com:443", "[::1", "not a URL"),
    ],
)
def test_invalid_url_errors_name_the_problem(old: str, new: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=f"^content URL: {message}"):
        parse_content_url(DOCUMENTED.replace(old, new, 1))

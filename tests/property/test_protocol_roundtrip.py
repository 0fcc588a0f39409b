"""Round trips of the wire formats: what is built parses back to the same value, and any signed registration
verifies. tests/property/test_protocol_parse_errors.py shows the parsers fail only with ProtocolError."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from harness.protocol import location, manifest, messaging, registration, tokens
from harness.protocol.cmtrace import LogLine, Severity, format_line, normalise, parse_line
from harness.protocol.content_url import ContentUrl, build_content_url, parse_content_url
from tests.property.protocol_common import FAST, signing_identity

# Any text XML 1.0 can carry (no C0 controls but tab, newline and carriage return; no U+FFFE/FFFF).
xml_text = st.text(
    st.characters(
        exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff", include_characters="\t\n\r"
    ),
    max_size=20,
)
ids = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=8)
hosts = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9]{0,6}){1,3}", fullmatch=True)
numbers = st.integers(min_value=-(2**63), max_value=2**64)
utc_seconds = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1)).map(
    lambda moment: moment.replace(microsecond=0, tzinfo=UTC)
)
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda m: timezone(timedelta(minutes=m))
)
aware = st.builds(
    lambda moment, zone: moment.replace(tzinfo=UTC).astimezone(zone),
    st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 1, 1)),
    offsets,
)

requests = st.builds(
    location.ContentLocationRequest,
    package_id=xml_text,
    package_version=numbers,
    site_code=xml_text,
    use_azure=st.booleans(),
    use_internet_dp=st.booleans(),
    dp_token_auth=st.booleans(),
    allow_http=st.booleans(),
    allow_smb=st.booleans(),
    allow_super_peer=st.booleans(),
    location_type=xml_text,
    deployment_flags=st.integers(min_value=0, max_value=2**64 - 1),
    ad_site=xml_text,
    forest=xml_text,
    domain=xml_text,
)
records = st.builds(
    location.LocationRecord,
    url=xml_text,
    server_remote_name=xml_text,
    locality=xml_text,
    dp_type=xml_text,
    version=numbers,
    signature_url=st.none() | xml_text,
    capabilities=st.lists(st.tuples(xml_text, xml_text), max_size=3).map(tuple),
)
replies = st.builds(
    location.ContentLocationReply,
    site_code=xml_text,
    site_locality=xml_text,
    records=st.lists(records, min_size=1, max_size=3).map(tuple),
    hash_sha256=st.none() | xml_text,
    access_token=st.none() | xml_text,
    bgr_version=st.none() | st.integers(min_value=0, max_value=2**31),
    boundary_groups_time=xml_text,
).filter(lambda r: r.bgr_version is not None or r.boundary_groups_time == "")
# A reply without records is the documented FALLBACK shape, which carries no hash (B-14).
fallback_replies = st.builds(
    location.ContentLocationReply,
    site_code=xml_text,
    site_locality=xml_text,
    records=st.just(()),
    access_token=st.none() | xml_text,
    bgr_version=st.none() | st.just(1),
)
manifests = st.builds(
    manifest.ContentManifest,
    package_id=xml_text,
    version=numbers,
    hash_sha256=xml_text,
    files=st.lists(
        st.builds(manifest.ManifestFile, name=xml_text, size=st.integers(0, 2**64), url=xml_text), max_size=4
    ).map(tuple),
)
messages = st.builds(
    messaging.CcmMessage,
    target_endpoint=xml_text.filter(bool),
    body=st.text().filter(lambda b: "\x00" not in b),
    source_host=xml_text,
    target_host=xml_text,
    message_id=xml_text.filter(bool),
    correlation_id=xml_text,
    reply_to=xml_text.filter(bool),
    sent_time=xml_text,
)
lifetimes = st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=90))
token_values = st.builds(
    lambda kind, subject, issued, life, claims: tokens.Token(kind, subject, issued, issued + life, claims),
    st.text(),
    st.text(),
    aware,
    lifetimes,
    st.lists(st.tuples(st.text(), st.text()), max_size=3).map(tuple),
)


@FAST
@given(requests)
def test_location_request_round_trip(request: location.ContentLocationRequest) -> None:
    assert location.parse_location_request(location.build_location_request(request)) == request


@FAST
@given(replies | fallback_replies)
def test_location_reply_round_trip(reply: location.ContentLocationReply) -> None:
    assert location.parse_location_reply(location.build_location_reply(reply)) == reply


@FAST
@given(manifests)
def test_manifest_round_trip(value: manifest.ContentManifest) -> None:
    assert manifest.parse_manifest(manifest.build_manifest(value)) == value


@FAST
@given(messages)
def test_message_round_trip(message: messaging.CcmMessage) -> None:
    assert messaging.decode_message(*messaging.encode_message(message)) == message


@FAST
@given(st.text().filter(lambda b: "\x00" not in b), xml_text)
def test_reply_round_trip_keeps_any_unicode(payload: str, message_id: str) -> None:
    assert messaging.decode_reply(*messaging.encode_reply(payload, message_id=message_id)) == payload


@FAST
@given(st.text(st.characters(min_codepoint=0x10000), min_size=1))
def test_non_bmp_bodies_survive(body: str) -> None:
    sent = messaging.CcmMessage("MP_LocationManager", body)
    assert messaging.decode_message(*messaging.encode_message(sent)).body == body


@FAST
@given(
    ids,
    ids,
    st.from_regex(r"GUID:[0-9a-f-]{1,36}", fullmatch=True),
    hosts,
    utc_seconds,
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)).map(
        lambda d: d - d % timedelta(seconds=1)
    ),
    st.sampled_from(["https://cmg.contoso.example", "https://cmg.example:4443", "http://10.0.0.1:80"]),
)
def test_content_url_round_trip(
    pid: str, cid: str, tid: str, issuer: str, start: datetime, window: timedelta, base: str
) -> None:
    url = ContentUrl(base, pid, cid, tid, issuer, start, start + window)
    assert parse_content_url(build_content_url(url)) == url


@FAST
@given(
    st.text(),
    xml_text.map(lambda c: c.replace('"', "")),
    aware,
    st.sampled_from(Severity),
    st.integers(0, 2**31),
    xml_text.map(lambda c: c.replace('"', "")),
)
def test_cmtrace_round_trip(
    message: str, component: str, when: datetime, severity: Severity, thread: int, file: str
) -> None:
    line = LogLine(message, component, when, severity, thread, file)
    assert parse_line(format_line(line)) == normalise(line)


registration_requests = st.builds(
    registration.RegistrationRequest,
    netbios_name=xml_text.filter(str.strip),
    fq_name=xml_text,
    internet=st.booleans(),
    timestamp=xml_text,
    signing_certificate=xml_text,
    encryption_certificate=xml_text,
    signature=xml_text,
    smsid=xml_text,
    request_type=xml_text,
    agent_identity=xml_text,
    agent_version=xml_text,
    agent_type=numbers,
    locale_id=numbers,
)
registration_replies = st.builds(
    registration.RegistrationReply,
    smsid=st.uuids().map(lambda u: f"GUID:{u}") | st.uuids().map(lambda u: f"GUID:{str(u).upper()}"),
    approved=st.booleans(),
)


@FAST
@given(registration_requests)
def test_registration_request_round_trip(request: registration.RegistrationRequest) -> None:
    assert registration.parse_registration_request(registration.build_registration_request(request)) == request


@FAST
@given(registration_replies)
def test_registration_reply_round_trip(reply: registration.RegistrationReply) -> None:
    assert registration.parse_registration_reply(registration.build_registration_reply(reply)) == reply


@FAST
@given(registration_requests)
def test_any_signed_registration_verifies_as_sent(request: registration.RegistrationRequest) -> None:
    identity = signing_identity()
    signed = registration.sign_request(replace(request, signing_certificate=identity.certificate_hex), identity.key)
    text = registration.build_registration_request(signed)
    registration.verify_signature(text, registration.parse_registration_request(text))


@FAST
@given(token_values, st.binary(max_size=16))
def test_token_round_trip(token: tokens.Token, key: bytes) -> None:
    text = tokens.sign_token(token, key)
    assert tokens.verify_token(text, key, kind=token.kind, now=token.issued) == token


@FAST
@given(token_values, st.data())
def test_any_tampered_byte_is_refused(token: tokens.Token, data: st.DataObject) -> None:
    raw = bytearray(tokens.sign_token(token, b"key").encode("ascii"))
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[index]))
    try:
        tokens.verify_token(raw.decode("latin-1"), b"key", kind=token.kind, now=token.issued)
    except tokens.TokenError as error:
        assert error.reason in tokens.REASONS
    else:
        raise AssertionError(f"tampered token at byte {index} was accepted")

"""Round trips of the wire formats, and the promise that parsers fail only with ProtocolError."""

import contextlib
import functools
import zlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.client.identity import SigningIdentity, new_signing_identity
from harness.protocol import location, manifest, messaging, mplist, policy, registration, site_info, tokens
from harness.protocol.cmtrace import LogLine, Severity, format_line, normalise, parse_line, parse_log
from harness.protocol.content_url import ContentUrl, build_content_url, parse_content_url
from harness.protocol.errors import ProtocolError

FAST = settings(max_examples=60, deadline=None, database=None)

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
# A reply without records is the documented FALLBACK shape, which carries no hash (spec §2.4 [S39]).
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


@functools.cache
def signing_identity() -> SigningIdentity:
    return new_signing_identity("CLIENT01", datetime(2026, 11, 2, tzinfo=UTC))


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


# -- parsers fail only with ProtocolError ---------------------------------------------------------

SAMPLES: dict[str, tuple[Callable[[str], object], str]] = {
    "location request": (
        location.parse_location_request,
        location.build_location_request(
            location.ContentLocationRequest("PS100004", 1, "PS1", use_azure=True, use_internet_dp=True)
        ),
    ),
    "location reply": (
        location.parse_location_reply,
        location.build_location_reply(
            location.ContentLocationReply(
                "PS1",
                "LOCAL",
                (location.LocationRecord("https://dp/x", "DP", "LOCAL", "SERVER", signature_url="s"),),
                hash_sha256="AB",
                access_token="t",
            )
        ),
    ),
    "manifest": (
        manifest.parse_manifest,
        manifest.build_manifest(
            manifest.ContentManifest(
                "PS100004", 1, "AB", (manifest.ManifestFile("a.wim", 10, "https://blob/a"),)
            )
        ),
    ),
    "mplist": (mplist.parse_mplist, mplist.build_mplist([mplist.MPEntry("cm01.contoso.example", 9040)])),
    "site info request": (site_info.parse_site_info_request, site_info.build_site_info_request("PS1")),
    "site info reply": (
        site_info.parse_site_info_reply,
        site_info.build_site_info_reply(site_info.SiteInfo("PS1", "5.00.9040.1000", 9040, "2010")),
    ),
    "request assignments": (policy.parse_request_assignments, policy.build_request_assignments("GUID:1")),
    "registration request": (
        registration.parse_registration_request,
        registration.build_registration_request(
            registration.RegistrationRequest("CLIENT01", "c.contoso.example", True, "2026-11-02T08:00:00Z", "AB")
        ),
    ),
    "registration signature": (
        lambda t: registration.verify_signature(t, registration.parse_registration_request(t)),
        registration.build_registration_request(
            registration.sign_request(
                registration.RegistrationRequest(
                    "CLIENT01", "c", False, "2026-11-02T08:00:00Z", signing_identity().certificate_hex
                ),
                signing_identity().key,
            )
        ),
    ),
    "registration reply": (
        registration.parse_registration_reply,
        registration.build_registration_reply(
            registration.RegistrationReply("GUID:3FB5CF5D-0C4B-4B1E-8F00-9E5D2A1B7C10")
        ),
    ),
    "assignment reply": (
        policy.parse_assignment_reply,
        policy.build_assignment_reply(
            [
                policy.PolicyAssignment(
                    "A-B-C", "1.00", "Machine", "NAL", 9, "http://<mp>/SMS_MP/.sms_pol?A-B-C.1_00"
                )
            ]
        ),
    ),
    "ts policy": (
        policy.parse_ts_policy,
        policy.build_ts_policy(
            policy.TaskSequencePolicy(
                "PS120001",
                "PS100010",
                "TS",
                2,
                0,
                0,
                (policy.PolicyStep("s", "Restart Computer", "P", 1.5),),
                (policy.PolicyPackage("P", 1, "n", 5),),
                (("v", "1"),),
            )
        ),
    ),
    "content url": (
        parse_content_url,
        build_content_url(
            ContentUrl(
                "https://cmg",
                "P",
                "P",
                "GUID:1",
                "MP",
                datetime(2024, 1, 1, tzinfo=UTC),
                datetime(2024, 1, 2, tzinfo=UTC),
            )
        ),
    ),
    "cmtrace line": (parse_line, format_line(LogLine("m", "c", datetime(2024, 1, 1, tzinfo=UTC)))),
    "cmtrace log": (parse_log, format_line(LogLine("m", "c", datetime(2024, 1, 1, tzinfo=UTC))) + "\n"),
    "token": (
        lambda t: tokens.verify_token(t, b"k", kind="ccm", now=datetime(2024, 1, 1, tzinfo=UTC)),
        tokens.sign_token(
            tokens.Token("ccm", "c", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)), b"k"
        ),
    ),
}


@st.composite
def mutated(draw: st.DrawFn, sample: str) -> str:
    """A valid document with a few random cuts, insertions and character swaps."""
    text = sample
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 12)))
        text = text[:start] + draw(st.text(max_size=6)) + text[end:]
    return text


@FAST
@given(st.sampled_from(sorted(SAMPLES)), st.data())
def test_parsers_raise_only_protocol_error(name: str, data: st.DataObject) -> None:
    parse, sample = SAMPLES[name]
    text = data.draw(st.text(max_size=60) | mutated(sample))
    with contextlib.suppress(ProtocolError):
        parse(text)


def _valid_body() -> bytes:
    return messaging.encode_message(messaging.CcmMessage("MP_LocationManager", "<x/>", message_id="{1}"))[0]


@st.composite
def mutated_bodies(draw: st.DrawFn) -> bytes:
    body = _valid_body()
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(body)))
        end = draw(st.integers(start, min(len(body), start + 16)))
        body = body[:start] + draw(st.binary(max_size=8)) + body[end:]
    return body


def _with_payload(payload: bytes) -> bytes:
    head = _valid_body().split(b"application/octet-stream\r\n\r\n")[0]
    return head + b"application/octet-stream\r\n\r\n" + payload + f"\r\n--{messaging.BOUNDARY}--".encode()


content_types = st.sampled_from([messaging.CONTENT_TYPE, "multipart/mixed", "text/xml"]) | st.text(
    max_size=40
)
bodies = (
    st.binary(max_size=200)
    | mutated_bodies()
    | st.binary(max_size=64).map(_with_payload)
    | st.binary(max_size=64).map(lambda raw: _with_payload(zlib.compress(raw)))
)


@FAST
@given(bodies, content_types)
def test_decoders_raise_only_protocol_error(body: bytes, content_type: str) -> None:
    for decode in (messaging.decode_message, messaging.decode_reply):
        with contextlib.suppress(ProtocolError):
            decode(body, content_type)

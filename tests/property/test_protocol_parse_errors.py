"""The promise that the wire formats' parsers and the message decoders fail only with ProtocolError, whatever
text or bytes they are given: random, or a valid document with random cuts, insertions and swaps."""

import contextlib
import zlib
from collections.abc import Callable
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from harness.protocol import location, manifest, messaging, mplist, policy, registration, site_info, tokens, ts_policy
from harness.protocol.cmtrace import LogLine, format_line, parse_line, parse_log
from harness.protocol.content_url import ContentUrl, build_content_url, parse_content_url
from harness.protocol.errors import ProtocolError
from tests.property.protocol_common import FAST, signing_identity

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
        ts_policy.parse_ts_policy,
        ts_policy.build_ts_policy(
            ts_policy.TaskSequencePolicy(
                "PS120001",
                "PS100010",
                "TS",
                2,
                0,
                0,
                (ts_policy.PolicyStep("s", "Restart Computer", "P", 1.5),),
                (ts_policy.PolicyPackage("P", 1, "n", 5),),
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

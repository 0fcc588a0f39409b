import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from harness.protocol.errors import ProtocolError
from harness.protocol.tokens import (
    CCM_TOKEN_LIFETIME,
    CONTENT_TOKEN_LIFETIME,
    CONTENT_URL_WINDOW,
    SITE_TOKEN_LIFETIME,
    Token,
    TokenError,
    sign_token,
    verify_token,
)

KEY = b"site secret"
NOW = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
CONTENT = Token("content", "CLIENT01", NOW, NOW + CONTENT_TOKEN_LIFETIME, (("pid", "PS100004"), ("pid", "X")))


def test_lifetimes() -> None:
    assert (
        timedelta(hours=8),
        timedelta(hours=24),
        timedelta(days=90),
        timedelta(hours=8),
    ) == (CCM_TOKEN_LIFETIME, CONTENT_TOKEN_LIFETIME, SITE_TOKEN_LIFETIME, CONTENT_URL_WINDOW)


def test_round_trip_and_claims() -> None:
    token = verify_token(sign_token(CONTENT, KEY), KEY, kind="content", now=NOW + timedelta(hours=1))
    assert token == CONTENT
    assert token.claim("pid") == "PS100004"
    assert token.claim("missing") is None


def test_shape_is_two_unpadded_base64url_parts() -> None:
    text = sign_token(CONTENT, KEY)
    body, signature = text.split(".")
    assert "=" not in text and len(signature) == 43
    assert json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["sub"] == "CLIENT01"


def test_naive_now_is_taken_as_utc() -> None:
    assert (
        verify_token(sign_token(CONTENT, KEY), KEY, kind="content", now=NOW.replace(tzinfo=None)) == CONTENT
    )


def test_sign_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="time-zone aware"):
        sign_token(Token("ccm", "c", NOW.replace(tzinfo=None), NOW), KEY)


@pytest.mark.parametrize(
    ("now", "kind", "key", "reason"),
    [
        (NOW + CONTENT_TOKEN_LIFETIME, "content", KEY, "expired"),
        (NOW - timedelta(seconds=1), "content", KEY, "not yet valid"),
        (NOW, "ccm", KEY, "wrong kind"),
        (NOW, "content", b"other key", "bad signature"),
    ],
)
def test_rejections_say_why(now: datetime, kind: str, key: bytes, reason: str) -> None:
    with pytest.raises(TokenError) as caught:
        verify_token(sign_token(CONTENT, KEY), key, kind=kind, now=now)
    assert caught.value.reason == reason
    assert str(caught.value).startswith(f"token {reason}")
    assert isinstance(caught.value, ProtocolError)


def _forge(payload: bytes) -> str:
    import hashlib
    import hmac

    body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    mac = hmac.new(KEY, body.encode(), hashlib.sha256).digest()
    return f"{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "a.b.c",
        "é.x",
        "a" * 70_000,
        "ab!.cd",
        "abc=.def",
        _forge(b"not json"),
        _forge(b'{"kind": "ccm"}'),
        _forge(b"[]"),
        _forge(
            b'{"kind":"ccm","sub":"c","iat":"2024-05-01T10:00:00","exp":"2024-05-01T18:00:00+00:00","claims":[]}'
        ),
        _forge(b'{"kind":"ccm","sub":"c","iat":"2024-05-01T10:00:00+00:00","exp":"x","claims":[]}'),
        _forge(
            b'{"kind":"ccm","sub":1,"iat":"2024-05-01T10:00:00+00:00","exp":"2024-05-01T18:00:00+00:00","claims":[]}'
        ),
        _forge(
            b'{"kind":"ccm","sub":"c","iat":"2024-05-01T10:00:00+00:00","exp":"2024-05-01T18:00:00+00:00",'
            b'"claims":["ab"]}'
        ),
    ],
)
def test_malformed(text: str) -> None:
    with pytest.raises(TokenError) as caught:
        verify_token(text, KEY, kind="ccm", now=NOW)
    assert caught.value.reason == "malformed"


def test_non_canonical_signature_is_malformed() -> None:
    body, signature = sign_token(CONTENT, KEY).split(".")
    # The last character of a 32-byte value carries two bits a decoder ignores.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[alphabet.index(signature[-1]) ^ 1]
    with pytest.raises(TokenError) as caught:
        verify_token(f"{body}.{signature[:-1]}{twin}", KEY, kind="content", now=NOW)
    assert caught.value.reason == "malformed"

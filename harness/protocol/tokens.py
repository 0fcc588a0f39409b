"""Signed tokens: site tokens, CCM tokens from CCM_STS and content access tokens (B-06, B-44, B-45).

[INFERENCE] Real ConfigMgr tokens are signed JWTs; a shared-secret HMAC-SHA256 stands in for the
signature, which is all an emulated site and client need to agree on. The text is
``base64url(json payload).base64url(hmac-sha256 of the first part)``, without padding.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from harness.protocol.errors import ProtocolError

CCM_TOKEN_LIFETIME = timedelta(hours=8)  # CCM_STS token (B-44)
CONTENT_TOKEN_LIFETIME = timedelta(hours=24)  # access token with the content sources (B-45)
SITE_TOKEN_LIFETIME = timedelta(days=90)  # site-issued token (B-06)
CONTENT_URL_WINDOW = timedelta(hours=8)  # st..et of a content URL (B-45)

MAX_TOKEN_CHARS = 64 * 1024
REASONS = ("malformed", "bad signature", "expired", "not yet valid", "wrong kind")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class TokenError(ProtocolError):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"token {reason}: {detail}" if detail else f"token {reason}")
        self.reason = reason


@dataclass(frozen=True)
class Token:
    kind: str  # "site", "ccm", "content", …
    subject: str
    issued: datetime  # tz-aware
    expires: datetime  # tz-aware
    claims: tuple[tuple[str, str], ...] = ()

    def claim(self, name: str) -> str | None:
        return next((value for key, value in self.claims if key == name), None)


def sign_token(token: Token, key: bytes) -> str:
    if token.issued.tzinfo is None or token.expires.tzinfo is None:
        raise ValueError("token times must be time-zone aware")
    body = _b64encode(json.dumps(_payload(token), separators=(",", ":")).encode("utf-8"))
    return f"{body}.{_b64encode(_mac(body, key))}"


def _payload(token: Token) -> dict[str, Any]:
    # Claims as pairs, not an object, so their order and any repeats survive.
    return {"kind": token.kind, "sub": token.subject, "iat": token.issued.isoformat(),
            "exp": token.expires.isoformat(), "claims": [list(pair) for pair in token.claims]}


def verify_token(text: str, key: bytes, *, kind: str, now: datetime) -> Token:
    """The token, if its signature holds, it is of ``kind`` and ``now`` is within its lifetime.

    A naive ``now`` is taken as UTC.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    body, signature = _split(text)
    if not hmac.compare_digest(signature, _mac(body, key)):
        raise TokenError("bad signature")
    token = _token(_b64decode(body))
    if token.kind != kind:
        raise TokenError("wrong kind", f"expected a {kind} token, got a {token.kind} token")
    if now < token.issued:
        raise TokenError("not yet valid", f"valid from {token.issued.isoformat()}")
    if now >= token.expires:
        raise TokenError("expired", f"expired at {token.expires.isoformat()}")
    return token


def _split(text: str) -> tuple[str, bytes]:
    if not isinstance(text, str) or len(text) > MAX_TOKEN_CHARS or not text.isascii():
        raise TokenError("malformed", "not a short ASCII string")
    parts = text.split(".")
    if len(parts) != 2:
        raise TokenError("malformed", "expected two dot-separated parts")
    return parts[0], _b64decode(parts[1])


def _mac(body: str, key: bytes) -> bytes:
    return hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not _BASE64URL.fullmatch(text):
        raise TokenError("malformed", "not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("malformed", "not base64url") from None
    # Trailing bits a decoder ignores could be changed without changing the bytes; only the canonical
    # text is the token.
    if _b64encode(data) != text:
        raise TokenError("malformed", "not canonical base64url")
    return data


def _token(payload: bytes) -> Token:
    try:
        fields = json.loads(payload.decode("utf-8"))
        token = Token(kind=_str(fields["kind"]), subject=_str(fields["sub"]),
                      issued=_aware(fields["iat"]), expires=_aware(fields["exp"]),
                      claims=tuple(_pair(item) for item in fields["claims"]))
    except (ValueError, KeyError, TypeError) as error:
        raise TokenError("malformed", f"payload is not a token ({error})") from None
    return token


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _pair(item: object) -> tuple[str, str]:
    if not isinstance(item, list) or len(item) != 2:
        raise TypeError(f"claim {item!r} is not a [name, value] pair")
    return _str(item[0]), _str(item[1])


def _aware(value: object) -> datetime:
    moment = datetime.fromisoformat(_str(value))
    if moment.tzinfo is None:
        raise ValueError(f"time {value!r} has no time zone")
    return moment


__all__ = [
    "CCM_TOKEN_LIFETIME",
    "CONTENT_TOKEN_LIFETIME",
    "CONTENT_URL_WINDOW",
    "SITE_TOKEN_LIFETIME",
    "Token",
    "TokenError",
    "sign_token",
    "verify_token",
]

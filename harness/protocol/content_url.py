"""The content URL of a CMG or cloud DP (B-45):

``https://<host>[:port]/downloadrestservice.svc/getcontentxmlsecure?pid=<PkgID>&cid=<ContentID>
&tid=GUID:<guid>&iss=<MP FQDN>&alg=1.2.840.113549.1.1.11&st=<UTC>&et=<UTC>``

Times are UTC to the second (``YYYY-MM-DDTHH:MM:SS``); a naive datetime is taken as UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlsplit

from harness.protocol.errors import ProtocolError

CONTENT_PATH = "/downloadrestservice.svc/getcontentxmlsecure"
SHA256_RSA_OID = "1.2.840.113549.1.1.11"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
WHAT = "content URL"
MAX_URL_CHARS = 16 * 1024
# strptime alone would take "2019-1-1T1:2:3" and non-ASCII digits
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")
_PARAMETERS = ("pid", "cid", "tid", "iss", "alg", "st", "et")


@dataclass(frozen=True)
class ContentUrl:
    base: str  # https://<host>[:port], no trailing slash
    package_id: str
    content_id: str
    tid: str  # "GUID:<guid>", as it appears in the URL
    issuer: str
    start: datetime
    end: datetime
    alg: str = SHA256_RSA_OID


def build_content_url(cu: ContentUrl) -> str:
    values = (cu.package_id, cu.content_id, cu.tid, cu.issuer, cu.alg, _utc_text(cu.start), _utc_text(cu.end))
    # Colons stay literal, as in the URLs ConfigMgr logs (tid=GUID:…, st=2019-11-19T01:44:04).
    pairs = zip(_PARAMETERS, values, strict=True)
    query = "&".join(f"{name}={quote(value, safe=':')}" for name, value in pairs)
    return f"{cu.base.rstrip('/')}{CONTENT_PATH}?{query}"


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(TIME_FORMAT)


def parse_content_url(url: str) -> ContentUrl:
    if len(url) > MAX_URL_CHARS:
        raise ProtocolError(f"{WHAT}: longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        pairs = parse_qsl(parts.query, keep_blank_values=True, max_num_fields=len(_PARAMETERS) * 4)
    except ValueError as error:
        raise ProtocolError(f"{WHAT}: not a URL ({error})") from None
    if parts.scheme not in ("http", "https"):
        raise ProtocolError(f"{WHAT}: scheme {parts.scheme!r} is not http or https")
    if not parts.netloc:
        raise ProtocolError(f"{WHAT}: {url[:80]!r} has no host")
    if not parts.path.lower().endswith(CONTENT_PATH):
        raise ProtocolError(f"{WHAT}: path {parts.path!r} does not end in {CONTENT_PATH}")
    prefix = parts.path[: len(parts.path) - len(CONTENT_PATH)]
    return parse_content_query(_unique(pairs), f"{parts.scheme}://{parts.netloc}{prefix}")


def _unique(pairs: list[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise ProtocolError(f"{WHAT}: parameter {name} is given more than once")
        params[name] = value
    return params


def parse_content_query(params: Mapping[str, str], base: str) -> ContentUrl:
    """For a server that already holds the query as a mapping; ``base`` is reported back unchanged."""
    values = {name: _required(params, name) for name in _PARAMETERS}
    if not values["tid"].startswith("GUID:"):
        raise ProtocolError(f"{WHAT}: parameter tid must be GUID:<guid>, got {values['tid']!r}")
    start, end = _time(values["st"], "st"), _time(values["et"], "et")
    if end < start:
        raise ProtocolError(f"{WHAT}: parameter et ({values['et']}) is before st ({values['st']})")
    return ContentUrl(base=base, package_id=values["pid"], content_id=values["cid"], tid=values["tid"],
                      issuer=values["iss"], start=start, end=end, alg=values["alg"])


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"{WHAT}: missing parameter {name}")
    return value


def _time(text: str, name: str) -> datetime:
    try:
        if not _TIME.fullmatch(text):
            raise ValueError(text)
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ProtocolError(f"{WHAT}: parameter {name} is not a UTC time YYYY-MM-DDTHH:MM:SS: "
                            f"{text!r}") from None


__all__ = ["CONTENT_PATH", "SHA256_RSA_OID", "ContentUrl", "build_content_url", "parse_content_query",
           "parse_content_url"]

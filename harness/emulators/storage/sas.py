"""The storage front's SAS gate: Azure storage's check of a shared access signature, on the model clock.

Azurite checks a SAS's start and expiry (`st`, `se`) against the machine's real clock, but the emulated world
lives in model time: on the virtual clock a SAS signed for 8 model hours may be a model day old a real
millisecond later. So the front checks a SAS the way Azure storage does — the signature against the account key,
then the window against model now — and passes Azurite the same request with a SAS for the same resource and
permissions, signed afresh in real time, which Azurite's own check then passes. Azurite still checks the rest
(that the permissions allow the operation, the protocol, that the blob exists).

Only service SAS signed with an account key are checked: the only kind the harness issues (see `UNCHECKED`).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

from azure.storage.blob import generate_blob_sas, generate_container_sas

# The query fields of a service SAS, as the storage REST API names them; `sig` signs the others.
SIGNED = ("sv", "sp", "st", "se", "sr", "si", "sip", "spr", "ses", "rscc", "rscd", "rsce", "rscl", "rsct", "sig")
# SAS fields the front cannot check: an account SAS (ss, srt) and a user delegation SAS (sk*, sd*, saoid…) are
# signed differently, the latter with a key only Entra ID hands out. The harness issues neither. One is refused,
# not passed on: Azurite would judge its window by the real clock, not model time.
UNCHECKED = ("ss", "srt", "skoid", "sktid", "skt", "ske", "sks", "skv", "skdutid", "sduoid", "saoid", "suoid",
             "scid", "sdd", "srh", "srq")
# The window of the SAS handed to Azurite, in real time. It only has to cover the request's arrival, when
# Azurite checks it; the 5 minutes back are the usual allowance for clock skew.
REAL_SKEW = timedelta(minutes=5)
REAL_LIFETIME = timedelta(hours=1)
# Azure's message for every SAS it refuses; the AuthenticationErrorDetail says why. [INFERENCE] The storage REST
# reference does not list the details' texts: these are the ones Azure's answers carry (as quoted in public bug
# reports), and which refusal gets "not well formed" is the harness's choice.
AUTHENTICATION_FAILED = ("Server failed to authenticate the request. Make sure the value of Authorization header is "
                         "formed correctly including the signature.")
NOT_WELL_FORMED = "Signature fields not well formed."


class SasRefused(Exception):
    """A SAS Azure storage would refuse: `detail` is Azure's AuthenticationErrorDetail, `why` the harness's own
    account of it (for the journal)."""

    def __init__(self, detail: str, why: str) -> None:
        super().__init__(why)
        self.detail = detail
        self.why = why


@dataclass(frozen=True)
class Resource:
    """What a request names: an account, and in it a container (empty for the account itself) and a blob (empty
    for the container itself)."""

    account: str
    container: str
    blob: str

    @property
    def path(self) -> str:
        return "/" + "/".join(part for part in (self.container, self.blob) if part)


def resource_of(host: str, path: str) -> Resource:
    """The account is the Host's first label (`<account>.blob.<suffix>`), or the path's first segment when the
    request is addressed by IP address or as localhost (path style): the way Azurite tells them apart. `path` is
    the request's decoded path."""
    name = urlsplit(f"//{host}").hostname or ""
    segments = path.lstrip("/").split("/")
    account = segments.pop(0) if _path_style(name) else name.split(".", 1)[0]
    container = segments.pop(0) if segments else ""
    return Resource(account.lower(), container, "/".join(segments))


def _path_style(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class SasGate:
    """Checks a SAS against the storage accounts' keys and model time; answers the query to send Azurite."""

    def __init__(self, keys: Mapping[str, str], model_now: Callable[[], datetime],
                 real_now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.keys = {name.lower(): key for name, key in keys.items()}
        self.model_now = model_now
        self.real_now = real_now

    def admit(self, host: str, path: str, raw_query: str) -> str | None:
        """None when the query carries no SAS (`sig`), or names an account the front does not keep (Azurite
        answers for that as it would): the request goes on as it came. Otherwise the query for Azurite: the same,
        with `st`, `se` and `sig` of a real-time SAS for the same resource and permissions. Raises SasRefused for a
        SAS Azure would refuse at this model time."""
        fields = parse_qs(raw_query, keep_blank_values=True)
        resource = resource_of(host, path)
        key = self.keys.get(resource.account)
        if "sig" not in fields or key is None:
            return None
        sas = _signed_fields(fields)
        # [INFERENCE] The signature first: until it holds, the times in the query say nothing.
        self._check_signature(resource, key, sas)
        self._check_window(sas)
        now = self.real_now()
        fresh = _sign(resource, key, sas, now - REAL_SKEW if "st" in sas else None, now + REAL_LIFETIME)
        kept = [part for part in raw_query.split("&") if part and unquote_plus(part.split("=", 1)[0]) not in SIGNED]
        return "&".join([*kept, fresh])

    def _check_signature(self, resource: Resource, key: str, sas: dict[str, str]) -> None:
        signed: list[str] = []
        expected = parse_qs(_sign(resource, key, sas, sas.get("st"), sas["se"], signed.append))
        if hmac.compare_digest(expected["sig"][0].encode(), sas["sig"].encode()):
            return
        version = expected["sv"][0]
        # [INFERENCE] The front signs as the harness's Azure SDK does, in its storage version's layout: a SAS of
        # another version (sv) cannot be checked here and is refused, where Azure accepts any version it supports.
        # The content service signs with the same SDK, so its SAS always carry this version.
        why = (f"a SAS of storage version {sas['sv']}: the storage front checks only {version}"
               if sas["sv"] != version else f"the signature does not match {resource.account}'s key for this SAS")
        # Azure's detail quotes the string it signed, newlines and all; there is no secret in it.
        raise SasRefused(f"Signature did not match. String to sign used was {signed[0] if signed else ''}", why)

    def _check_window(self, sas: dict[str, str]) -> None:
        now = self.model_now().astimezone(UTC)
        start = _time(sas, "st") if "st" in sas else None
        expiry = _time(sas, "se")
        if (start is None or start <= now) and now <= expiry:
            return
        if start is None:  # Azure's words when a SAS names no start: the time of the request stands in for it
            detail = f"Signed expiry time [{_http_date(expiry)}] must be after signed start time [{_http_date(now)}]"
        else:
            detail = (f"Signature not valid in the specified time frame: Start [{_http_date(start)}] - Expiry "
                      f"[{_http_date(expiry)}] - Current [{_http_date(now)}]")
        state = f"expired at {expiry:%Y-%m-%d %H:%M:%S}" if now > expiry \
            else f"not valid before {start:%Y-%m-%d %H:%M:%S}"
        raise SasRefused(detail, f"SAS {state}; model time is {now:%Y-%m-%d %H:%M:%S}")


def _signed_fields(fields: Mapping[str, list[str]]) -> dict[str, str]:
    unchecked = [name for name in UNCHECKED if name in fields]
    if unchecked:
        raise SasRefused(NOT_WELL_FORMED, f"the storage front checks only service SAS signed with an account key; "
                                          f"this one carries {', '.join(unchecked)}")
    twice = [name for name in SIGNED if len(fields.get(name, [])) > 1]
    if twice:
        raise SasRefused(NOT_WELL_FORMED, f"SAS field {', '.join(twice)} given more than once")
    sas = {name: fields[name][0] for name in SIGNED if fields.get(name, [""])[0]}
    # [INFERENCE] A stored access policy (si) may hold a SAS's permissions and expiry; the front does not read
    # containers' policies (the harness sets none), so it asks every SAS for both.
    missing = [name for name in ("sv", "sr", "sp", "se", "sig") if name not in sas]
    if missing:
        raise SasRefused(NOT_WELL_FORMED, f"a SAS without {', '.join(missing)}")
    return sas


def _sign(resource: Resource, key: str, sas: Mapping[str, str], start: datetime | str | None,
          expiry: datetime | str, hook: Callable[[str], None] | None = None) -> str:
    """A SAS token for `resource` with the signed fields of `sas` but `start` and `expiry`."""
    options: dict[str, Any] = {
        "account_key": key, "permission": sas["sp"], "start": start, "expiry": expiry, "policy_id": sas.get("si"),
        "ip": sas.get("sip"), "protocol": sas.get("spr"), "encryption_scope": sas.get("ses"),
        "cache_control": sas.get("rscc"), "content_disposition": sas.get("rscd"),
        "content_encoding": sas.get("rsce"), "content_language": sas.get("rscl"), "content_type": sas.get("rsct"),
        "sts_hook": hook}
    try:
        if sas["sr"] == "c" and resource.container:  # a container's SAS serves its blobs too
            return generate_container_sas(resource.account, resource.container, **options)
        if sas["sr"] == "b" and resource.blob:
            return generate_blob_sas(resource.account, resource.container, resource.blob, **options)
    except (ValueError, TypeError) as error:  # the SDK's own refusals of what it was given
        raise SasRefused(NOT_WELL_FORMED, f"SAS fields the storage SDK cannot sign: {error}") from None
    # [INFERENCE] Snapshot (bs), version (bv) and directory (d) SAS are refused, not checked: nothing in the
    # harness issues them, and passed on unchecked Azurite would judge them by the real clock.
    raise SasRefused(NOT_WELL_FORMED, f"the storage front checks blob and container SAS, not sr={sas['sr']} "
                                      f"on {resource.path}")


def _time(sas: Mapping[str, str], name: str) -> datetime:
    """A SAS time: ISO 8601 in UTC, to the day, minute, second or a fraction of one."""
    try:
        value = datetime.fromisoformat(sas[name])
    except ValueError:
        raise SasRefused(NOT_WELL_FORMED, f"SAS {name}={sas[name]!r} is not an ISO 8601 time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _http_date(moment: datetime) -> str:
    """As Azure writes times in its error details: Mon, 02 Nov 2026 16:05:00 GMT."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)

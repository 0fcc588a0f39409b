"""What the server in front of a service answers itself, before any route sees a request: HTTP.sys (the kernel
driver under IIS) and IIS's request filtering. The storage front words its own URL refusals as Azure does
(storage/app.py) and keeps HTTP.sys's limits on the head.

Two places apply these, one for every service: `UrlGate`, which every service's ControlMiddleware puts in front of
its app (the check is the ControlPlane's `url_check`, by default `url_check_for` its service), and
`HttpSysH11Protocol`, the HTTP protocol every service is served with, for a head h11 could not read at all.

- HTTP.sys refuses a path whose escapes decode to U+0000–U+001F or U+007F–U+009F (its AllowRestrictedChars
  registry value is 0 by default) with 400 "Bad Request - Invalid URL":
  https://learn.microsoft.com/en-us/troubleshoot/developer/webapps/iis/iisadmin-service-inetinfo/httpsys-registry-windows
- The same page gives MaxFieldLength (which also bounds the URL) and MaxRequestBytes (request line and headers)
  16 KB by default. A request line over 16 KiB is therefore 414 "Request URL Too Long" and a longer head 400
  "Request Header Too Long". [INFERENCE: which limit HTTP.sys checks first, and its pages' exact words, as captures
  show them.] 16 KiB is also what h11 reads of a head at most (`MAX_HEAD` is handed to it), so both places agree.
- IIS's request filtering refuses a URL longer than maxUrl (4096) with 404.14 and a query string longer than
  maxQueryString (2048) with 404.15, their defaults:
  https://learn.microsoft.com/en-us/iis/configuration/system.webserver/security/requestfiltering/requestlimits/
  [INFERENCE: the body is the detailed error page a local client sees; a remote one gets a plain 404 page.]
- Request filtering is the product's IIS configuration, so it applies to the product sites' own paths only
  (`IIS_SITES`). The harness's APIs (every control API, the client agent, the network) keep HTTP.sys's rules
  [INFERENCE: they stand behind the same kind of server as the product services beside them].
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import h11
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_HEAD = 16 * 1024  # bytes of a request line, and of the whole head
MAX_URL, MAX_QUERY = 4096, 2048  # IIS request filtering's maxUrl and maxQueryString
# The services that are IIS sites in the product (the site server's MP and DP, the CMG, the cloud DP), and the
# harness's own paths on them (the control API's CONTROL_PREFIX, the site's and cloud DP's admin APIs).
IIS_SITES = frozenset({"site", "cmg", "clouddp"})
HARNESS_PREFIX = "/_harness/"
RESTRICTED = re.compile("[\x00-\x1f\x7f-\x9f]")

UrlCheck = Callable[[Scope], Response | None]


@dataclass(frozen=True)
class Refusal:
    status: int
    title: str  # the page's heading
    message: str  # the page's one sentence
    reason: str  # what was wrong with this request, for X-Harness-Reason


def header_safe(text: str) -> str:
    """`text` as an HTTP header value: ASCII, control characters written as %XX (h11 refuses to send them, and
    uvicorn then drops the connection without any answer), at most 500 characters."""
    ascii_text = text.encode("ascii", "replace").decode("ascii")
    return RESTRICTED.sub(lambda match: f"%{ord(match[0]):02X}", ascii_text)[:500]


def http_sys_page(refusal: Refusal) -> bytes:
    head = refusal.title.split(" - ")[0]
    return ('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
            f"<HTML><HEAD><TITLE>{head}</TITLE>\r\n"
            '<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
            f"<BODY><h2>{refusal.title}</h2>\r\n<hr><p>{refusal.message}</p>\r\n</BODY></HTML>\r\n").encode("ascii")


def refusal_response(refusal: Refusal) -> Response:
    return Response(http_sys_page(refusal), status_code=refusal.status, media_type="text/html; charset=us-ascii",
                    headers={"X-Harness-Reason": header_safe(refusal.reason)})


# -- the rules ----------------------------------------------------------------------------------------------------


def head_refusal(scope: Scope) -> Refusal | None:
    """HTTP.sys's limits on the request line and the head, counted from what the request was."""
    target = len(scope.get("raw_path", b"")) + (len(scope["query_string"]) + 1 if scope.get("query_string") else 0)
    line = len(scope["method"]) + 1 + target + len(" HTTP/1.1")
    head = line + 2 + sum(len(name) + len(value) + 4 for name, value in scope["headers"]) + 2
    return _too_long(line, head)


def _too_long(line: int, head: int) -> Refusal | None:
    """By the sizes seen: all of them, or (from h11) as much as had come when it gave up."""
    if line > MAX_HEAD:
        return Refusal(414, "Request URL Too Long", "HTTP Error 414. The request URL is too long.",
                       f"the request line is longer than {MAX_HEAD} bytes, HTTP.sys's limit ({line} seen)")
    if head > MAX_HEAD:
        return Refusal(400, "Bad Request - Request Too Long",
                       "HTTP Error 400. The size of the request headers is too long.",
                       f"the request line and headers are longer than {MAX_HEAD} bytes, HTTP.sys's limit "
                       f"({head} seen)")
    return None


def restricted_character(path: str) -> str | None:
    """The first character of a decoded path that HTTP.sys refuses, written as its escape."""
    match = RESTRICTED.search(path)
    return None if match is None else "%" + "%".join(f"{byte:02X}" for byte in match[0].encode("utf-8"))


def invalid_url_refusal(scope: Scope) -> Refusal | None:
    escape = restricted_character(scope["path"])
    if escape is None:
        return None
    return Refusal(400, "Bad Request - Invalid URL", "HTTP Error 400. The request URL is invalid.",
                   f"the URL's path holds {escape}, a control character HTTP.sys refuses")


def request_filtering_refusal(scope: Scope) -> Refusal | None:
    url, query = len(scope.get("raw_path", b"")), len(scope.get("query_string", b""))
    if url > MAX_URL:
        return Refusal(404, "HTTP Error 404.14 - Not Found", "The request filtering module is configured to deny "
                       "a request where the URL is too long.", f"the URL has {url} bytes; IIS's request filtering "
                       f"allows {MAX_URL} (maxUrl)")
    if query > MAX_QUERY:
        return Refusal(404, "HTTP Error 404.15 - Not Found", "The request filtering module is configured to deny "
                       "a request where the query string is too long.", f"the query string has {query} bytes; "
                       f"IIS's request filtering allows {MAX_QUERY} (maxQueryString)")
    return None


def http_sys_url_check(scope: Scope) -> Response | None:
    """HTTP.sys's refusals: the answer for a URL it refuses, else None."""
    return _first(scope, head_refusal, invalid_url_refusal)


def iis_url_check(scope: Scope) -> Response | None:
    """HTTP.sys's refusals, then IIS's request filtering on the product's paths (not the harness's own)."""
    if scope["path"].startswith(HARNESS_PREFIX):
        return http_sys_url_check(scope)
    return _first(scope, head_refusal, invalid_url_refusal, request_filtering_refusal)


def url_check_for(service: str) -> UrlCheck:
    return iis_url_check if service in IIS_SITES else http_sys_url_check


def _first(scope: Scope, *rules: Callable[[Scope], Refusal | None]) -> Response | None:
    for rule in rules:
        refusal = rule(scope)
        if refusal is not None:
            return refusal_response(refusal)
    return None


class UrlGate:
    """An app behind its server: the server's own answer to a request it refuses, else the app's."""

    def __init__(self, app: ASGIApp, check: UrlCheck) -> None:
        self.app, self.check = app, check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self.check(scope) if scope["type"] == "http" else None
        await (refusal or self.app)(scope, receive, send)


# -- a head h11 could not read ---------------------------------------------------------------------------------


class _Connection(h11.Connection):
    """h11's connection, keeping what it found wrong with a request it could not read (uvicorn's own answer
    says only "Invalid HTTP request received.")."""

    complaint = ""

    def next_event(self) -> Any:
        try:
            return super().next_event()
        except h11.RemoteProtocolError as error:
            self.complaint = str(error)
            raise


def unreadable_head(received: bytes, complaint: str) -> Refusal:
    """HTTP.sys's answer to a head h11 refused: too long (by the same limits as `head_refusal`), or badly formed."""
    ends = [at for at in (received.find(b"\r"), received.find(b"\n")) if at >= 0]
    line = min(ends) if ends else len(received)
    too_long = _too_long(line, len(received))
    if too_long is not None:
        return too_long
    return Refusal(400, "Bad Request", "HTTP Error 400. The request is badly formed.",
                   f"the request could not be read: {complaint or 'not HTTP/1.1'}")


class HttpSysH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, answering a head h11 cannot read in HTTP.sys's words and naming what was wrong."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = _Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)

    def send_400_response(self, msg: str) -> None:
        received, _ = self.conn.trailing_data
        refusal = unreadable_head(received, getattr(self.conn, "complaint", "") or msg)
        page = http_sys_page(refusal)
        headers = [(b"content-type", b"text/html; charset=us-ascii"), (b"content-length", str(len(page)).encode()),
                   (b"server", b"Microsoft-HTTPAPI/2.0"), (b"connection", b"close"),
                   (b"x-harness-reason", header_safe(refusal.reason).encode("ascii"))]
        for event in (h11.Response(status_code=refusal.status, headers=headers,
                                   reason=HTTPStatus(refusal.status).phrase),
                      h11.Data(data=page), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()

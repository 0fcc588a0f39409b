"""The harness's own wording of an answer: a status and a reason a person can act on (the X-Harness-Reason
header and the body), the identity headers IIS puts on every answer, and a status fault's answer."""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from harness.service.faults import Answer, Fault
from harness.service.http_sys import header_safe


class HttpError(Exception):
    """An answer with a 4xx/5xx status and a reason a person can act on."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# IIS-like identity headers: real tools and people reading captures expect them.
IIS_HEADERS = [(b"server", b"Microsoft-IIS/10.0"), (b"x-powered-by", b"ASP.NET")]


def error_response(status: int, reason: str) -> Response:
    return PlainTextResponse(f"{status} {reason}\n", status_code=status,
                             headers={"X-Harness-Reason": header_safe(reason)})


def fault_response(fault: Fault, render: Callable[[int, str], Response] = error_response) -> Response:
    """A status fault's answer: its status and reason, and Retry-After (model seconds) when it has one."""
    assert isinstance(fault.effect, Answer)
    response = render(fault.effect.status, fault.reason)
    if fault.effect.retry_after_s is not None:
        response.headers["Retry-After"] = str(fault.effect.retry_after_s)
    return response


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HttpError)
    return error_response(exc.status, exc.reason)


async def route_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route, wrong verb), with a reason naming the path and verb."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        reason = f"{request.method} is not allowed on {request.url.path}; it takes {headers.get('Allow', '')}"
    elif exc.status_code == 404:
        reason = f"no endpoint at {request.url.path}"
    else:
        reason = exc.detail
    response = error_response(exc.status_code, reason)
    response.headers.update(headers)
    return response

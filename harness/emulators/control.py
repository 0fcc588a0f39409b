"""The control API every emulated service serves, beside its product endpoints.

    GET  /_harness/health    liveness and identity
    POST /_harness/reset     back to the state right after start (milliseconds)
    GET  /_harness/journal   the requests the service answered, oldest first
    GET  /_harness/state     the service's model state as JSON
    GET/POST/DELETE /_harness/faults   HTTP-level faults armed for the next N matching requests

The same routes work in-process (respx.ASGIHandler) and in the server process.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL_PREFIX = "/_harness"
JOURNAL_LIMIT = 5000  # entries kept; a long `cmg-harness up` session must not grow without bound


class ServiceModel(Protocol):
    def reset(self) -> None: ...

    def snapshot(self) -> dict[str, Any]: ...


class HttpError(Exception):
    """An answer with a 4xx/5xx status and a reason a person can act on."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class JournalEntry:
    seq: int
    time: float
    method: str
    path: str
    query: str
    status: int
    elapsed_ms: float
    note: str = ""


class Journal:
    def __init__(self) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=JOURNAL_LIMIT)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def record(self, method: str, path: str, query: str, status: int, elapsed_ms: float, note: str) -> None:
        with self._lock:
            self._entries.append(JournalEntry(next(self._seq), time.time(), method, path, query,
                                              status, round(elapsed_ms, 3), note))

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(e) for e in self._entries if e.seq > since]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class Fault:
    """Answer `status` to the next `count` requests whose path starts with `path` (and method matches)."""

    path: str
    status: int
    count: int = 1
    method: str = "*"
    reason: str = "fault injected by the harness"

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        if not isinstance(data, dict):
            raise HttpError(400, "a fault is a JSON object with path, status and optional count, method, reason")
        try:
            fault = cls(path=str(data["path"]), status=int(data["status"]), count=int(data.get("count", 1)),
                        method=str(data.get("method", "*")).upper(), reason=str(data.get("reason", cls.reason)))
        except KeyError as missing:
            raise HttpError(400, f"fault is missing {missing}") from None
        except (TypeError, ValueError, OverflowError) as error:  # int(1e400) overflows
            raise HttpError(400, f"fault has a bad value: {error}") from None
        if not 400 <= fault.status <= 599 or fault.count < 1 or not fault.path.startswith("/"):
            raise HttpError(400, "fault needs a path starting with '/', a status 400-599 and a count of 1 or more")
        return fault


class FaultTable:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def arm(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path) and fault.method in ("*", method):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def armed(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


class ControlPlane:
    """Journal, faults and the control routes for one service."""

    def __init__(self, service: str, model: ServiceModel, extra_reset: Callable[[], None] | None = None) -> None:
        self.service = service
        self.model = model
        self.journal = Journal()
        self.faults = FaultTable()
        self._extra_reset = extra_reset
        self.started = time.time()

    def reset(self) -> None:
        self.model.reset()
        if self._extra_reset is not None:
            self._extra_reset()
        self.faults.clear()
        self.journal.clear()

    def routes(self) -> list[Route]:
        return [
            Route(f"{CONTROL_PREFIX}/health", self._health, methods=["GET"]),
            Route(f"{CONTROL_PREFIX}/reset", self._reset, methods=["POST"]),
            Route(f"{CONTROL_PREFIX}/journal", self._journal, methods=["GET"]),
            Route(f"{CONTROL_PREFIX}/state", self._state, methods=["GET"]),
            Route(f"{CONTROL_PREFIX}/faults", self._faults, methods=["GET", "POST", "DELETE"]),
        ]

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"service": self.service, "status": "healthy",
                             "uptime_s": round(time.time() - self.started, 3)})

    async def _reset(self, request: Request) -> Response:
        started = time.perf_counter()
        self.reset()
        return JSONResponse({"service": self.service, "reset_ms": round((time.perf_counter() - started) * 1e3, 3)})

    async def _journal(self, request: Request) -> Response:
        since = request.query_params.get("since", "0")
        if not (since.isascii() and since.isdigit() and len(since) <= 18):  # int() refuses "²" and 5000 digits
            raise HttpError(400, f"'since' must be a journal sequence number, got {since!r}")
        return JSONResponse(self.journal.entries(int(since)))

    async def _state(self, request: Request) -> Response:
        return JSONResponse({"service": self.service, **self.model.snapshot()})

    async def _faults(self, request: Request) -> Response:
        if request.method == "POST":
            self.faults.arm(Fault.from_json(await read_json(request)))
        elif request.method == "DELETE":
            self.faults.clear()
        return JSONResponse(self.faults.armed())


async def read_json(request: Request) -> Any:
    import json

    body = await request.body()
    try:
        return json.loads(body or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HttpError(400, f"request body is not valid JSON: {error}") from None
    except RecursionError:
        raise HttpError(400, "request body is JSON nested too deeply to read") from None


class ControlMiddleware:
    """Journals every request, applies armed faults, and turns HttpError into a clear answer.

    Pure ASGI (not BaseHTTPMiddleware) so streamed downloads pass through untouched.
    """

    def __init__(self, app: ASGIApp, control: ControlPlane) -> None:
        self.app = app
        self.control = control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        answered = _Answer()

        async def send_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered.status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *IIS_HEADERS]
            await send(message)

        fault = None if path.startswith(CONTROL_PREFIX) else self.control.faults.take(method, path)
        try:
            if fault is not None:
                answered.note = f"fault: {fault.reason}"
                await error_response(fault.status, fault.reason)(scope, receive, send_recording)
            else:
                await self.app(scope, receive, send_recording)
        finally:
            elapsed = (time.perf_counter() - started) * 1e3
            query = scope.get("query_string", b"").decode("latin-1")
            self.control.journal.record(method, path, query, answered.status, elapsed, answered.note)


@dataclass
class _Answer:
    status: int = 500  # what the journal says when the app died before answering
    note: str = ""


# IIS-like identity headers: real tools and people reading captures expect them (spec §6.4).
IIS_HEADERS = [(b"server", b"Microsoft-IIS/10.0"), (b"x-powered-by", b"ASP.NET")]


def error_response(status: int, reason: str) -> Response:
    return PlainTextResponse(f"{status} {reason}\n", status_code=status, headers={"X-Harness-Reason": _ascii(reason)})


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")[:500]


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

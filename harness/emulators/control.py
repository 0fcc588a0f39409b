"""The control API every emulated service serves, beside its product endpoints.

    GET  /_harness/health    liveness and identity
    POST /_harness/reset     back to the state right after start (milliseconds)
    GET  /_harness/journal   the requests the service answered, oldest first
    GET  /_harness/state     the service's model state as JSON
    GET/POST/DELETE /_harness/faults   HTTP-level faults armed for the next N matching requests
    GET  /_harness/logs      the service's CMTrace logs (spec §3.3) that have lines: name and size
    GET  /_harness/logs/{name}   one log's text

The same routes work in-process (respx.ASGIHandler) and in the server process.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harness.protocol.cmtrace import CMTraceWriter, Severity

CONTROL_PREFIX = "/_harness"
JOURNAL_LIMIT = 5000  # entries kept; a long `cmg-harness up` session must not grow without bound
# A log rolls over when it passes this many characters: the product rolls <name>.log to <name>.lo_ at
# LogMaxSize (spec §3.1), and so does the harness, dropping the previous .lo_. Memory per log is then at
# most about twice this (~2 MB), however long a `cmg-harness up` session runs; a scenario's logs (cleared
# by every reset) are a few kilobytes and never roll.
LOG_MAX_CHARS = 1024 * 1024


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


class ServiceLogs:
    """A service's CMTrace logs, in memory: the files an administrator would open on the server (spec §3.3).

    Only declared logs can be written (a typo in a log name fails loudly); `logs` maps each file to the
    component its lines carry unless a write names another.
    """

    def __init__(self, logs: Mapping[str, str], clock: Callable[[], datetime], max_chars: int = LOG_MAX_CHARS) -> None:
        self._components = dict(logs)
        self._clock = clock
        self._max_chars = max_chars
        self._lock = threading.Lock()
        self._writers: dict[str, CMTraceWriter] = {}
        self._chars: dict[str, int] = {}
        self.clear()

    def write(self, log: str, message: str, *, component: str | None = None,
              severity: Severity = Severity.INFO) -> None:
        if log not in self._components:
            raise KeyError(f"{log!r} is not one of this service's logs: {', '.join(self._components)}")
        thread = threading.get_native_id()
        with self._lock:
            line = self._writers[log].write(message, component=component, severity=severity, thread=thread)
            self._chars[log] += len(line) + 1
            if self._chars[log] > self._max_chars:
                self._roll(log)

    def _roll(self, log: str) -> None:
        rolled = log.removesuffix(".log") + ".lo_"
        self._writers[rolled], self._chars[rolled] = self._writers[log], self._chars[log]
        self._writers[log], self._chars[log] = CMTraceWriter(self._components[log], self._clock), 0

    def sizes(self) -> list[dict[str, Any]]:
        """Every log with lines, and its size in bytes (UTF-8)."""
        with self._lock:
            writers = [(name, writer) for name, writer in self._writers.items() if self._chars[name]]
        return [{"name": name, "size": len(writer.text().encode())} for name, writer in sorted(writers)]

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._writers)

    def text(self, log: str) -> str | None:
        """The log's text (empty if declared but not written yet); None if this service has no such log."""
        with self._lock:
            writer = self._writers.get(log)
        return None if writer is None else writer.text()

    def clear(self) -> None:
        with self._lock:
            self._writers = {name: CMTraceWriter(component, self._clock) for name, component in
                             self._components.items()}
            self._chars = dict.fromkeys(self._writers, 0)


class ControlPlane:
    """Journal, faults, logs and the control routes for one service."""

    def __init__(self, service: str, model: ServiceModel, extra_reset: Callable[[], None] | None = None, *,
                 logs: Mapping[str, str] | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self.service = service
        self.model = model
        self.journal = Journal()
        self.faults = FaultTable()
        self.logs = ServiceLogs(logs or {}, clock or (lambda: datetime.now(UTC)))
        self._extra_reset = extra_reset
        self.started = time.time()

    def reset(self) -> None:
        self.model.reset()
        if self._extra_reset is not None:
            self._extra_reset()
        self.faults.clear()
        self.journal.clear()
        self.logs.clear()

    def routes(self) -> list[Route]:
        return [
            Route(f"{CONTROL_PREFIX}/health", self._health, methods=["GET"]),
            Route(f"{CONTROL_PREFIX}/reset", self._reset, methods=["POST"]),
            Route(f"{CONTROL_PREFIX}/journal", self._journal, methods=["GET"]),
            Route(f"{CONTROL_PREFIX}/state", self._state, methods=["GET"]),
            Route(f"{CONTROL_PREFIX}/faults", self._faults, methods=["GET", "POST", "DELETE"]),
            Route(f"{CONTROL_PREFIX}/logs", self._logs, methods=["GET"]),
            Route(f"{CONTROL_PREFIX}/logs/{{name}}", self._log, methods=["GET"]),
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

    async def _logs(self, request: Request) -> Response:
        return JSONResponse(self.logs.sizes())

    async def _log(self, request: Request) -> Response:
        name = request.path_params["name"]
        text = self.logs.text(name)
        if text is None:
            known = ", ".join(self.logs.names()) or "none"
            raise HttpError(404, f"{self.service} has no log {name!r}; its logs are: {known}")
        return PlainTextResponse(text)


async def read_json(request: Request) -> Any:
    import json

    body = await request.body()
    try:
        return json.loads(body or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HttpError(400, f"request body is not valid JSON: {error}") from None
    except RecursionError:
        raise HttpError(400, "request body is JSON nested too deeply to read") from None


# A handler sets request.state.<JOURNAL_NOTE> to say why it answered as it did; the journal keeps it.
# Notes starting "deliberate:" mark a 5xx the scenario asked for (a stopped service), not a bug.
JOURNAL_NOTE = "journal_note"
DELIBERATE = "deliberate: "
FAULT = "fault: "  # an armed fault answered instead of the app


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
                answered.note = f"{FAULT}{fault.reason}"
                await error_response(fault.status, fault.reason)(scope, receive, send_recording)
            else:
                await self.app(scope, receive, send_recording)
                answered.note = scope.get("state", {}).get(JOURNAL_NOTE, "")
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

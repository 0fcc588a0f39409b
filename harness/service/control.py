"""The control API every emulated service serves, beside its product endpoints.

    GET  /_harness/health    liveness and identity
    POST /_harness/reset     back to the state right after start (milliseconds)
    GET  /_harness/journal   the requests the service answered, oldest first
    GET  /_harness/state     the service's model state as JSON
    GET/POST/DELETE /_harness/faults   HTTP-level faults: list, arm one, clear (fault_json.py has the JSON)
    GET  /_harness/logs      the service's CMTrace logs that have lines: name and size
                             (?text=true: and each one's text, all in one answer)
    GET  /_harness/logs/{name}   one log's text
    GET  /_harness/clock     the model clock: mode, scale, model time now (the authority adds its actors)
    POST /_harness/clock/advance   {"seconds": S}: moves a virtual clock on by hand (the network service only)

The same routes work in-process (respx.ASGIHandler) and in the server process.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harness.clock.actor import hold
from harness.clock.authority import Authority
from harness.clock.model_clock import ModelClock
from harness.clock.participant import ACTIVITY
from harness.model.units import Scale
from harness.protocol.cmtrace import CMTraceWriter, Severity
from harness.protocol.control_api import FAULT
from harness.service.answers import IIS_HEADERS as IIS_HEADERS
from harness.service.answers import HttpError as HttpError
from harness.service.answers import error_response as error_response
from harness.service.answers import fault_response as fault_response
from harness.service.answers import http_error_handler as http_error_handler
from harness.service.answers import route_error_handler as route_error_handler
from harness.service.content_marks import ContentDeclarer, take_mark
from harness.service.fault_effects import FaultedSend, cut_on_purpose, quiet_uvicorn_about_deliberate_cuts
from harness.service.fault_json import parse_fault
from harness.service.faults import Answer, Fault, FaultError, FaultTable
from harness.service.http_sys import UrlCheck, UrlGate, url_check_for

CONTROL_PREFIX = "/_harness"
JOURNAL_LIMIT = 5000  # entries kept; a long `cmg-harness up` session must not grow without bound
# A log rolls over when it passes this many characters: the product rolls <name>.log to <name>.lo_ at
# LogMaxSize (B-55), and so does the harness, dropping the previous .lo_. Memory per log is then at
# most about twice this (~2 MB), however long a `cmg-harness up` session runs; a scenario's logs (cleared
# by every reset) are a few kilobytes and never roll.
LOG_MAX_CHARS = 1024 * 1024


class ServiceModel(Protocol):
    def reset(self) -> None: ...

    def snapshot(self) -> dict[str, Any]: ...


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


class ServiceLogs:
    """A service's CMTrace logs, in memory: the files an administrator would open on the server.

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

    def sizes(self, *, with_text: bool = False) -> list[dict[str, Any]]:
        """Every log with lines, and its size in bytes (UTF-8); `with_text`: and its text."""
        with self._lock:
            writers = [(name, writer) for name, writer in self._writers.items() if self._chars[name]]
        entries = []
        for name, writer in sorted(writers):
            text = writer.text()
            entries.append({"name": name, "size": len(text.encode()), **({"text": text} if with_text else {})})
        return entries

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
    """Journal, faults, logs and the control routes for one service.

    `clock` is the environment's model clock: log lines carry its time, and fault delays and windows are in
    its model seconds. Without one the service runs on the wall clock at scale 1.
    """

    def __init__(self, service: str, model: ServiceModel, extra_reset: Callable[[], None] | None = None, *,
                 logs: Mapping[str, str] | None = None, clock: ModelClock | None = None,
                 identity_headers: Sequence[tuple[bytes, bytes]] | None = None,
                 error_renderer: Callable[[int, str], Response] | None = None, url_check: UrlCheck | None = None,
                 authority: Authority | None = None, content: ContentDeclarer | None = None) -> None:
        """`identity_headers` go on every answer (IIS's by default); `error_renderer` words a status fault's
        answer the way the service words its errors (the harness's plain text by default); `url_check` answers
        the URLs the server in front of the service refuses (http_sys.py; by default as its service is served in
        the product: `url_check_for`); `authority` is the
        virtual clock's, in the service that hosts it (the network); `content` declares the bodies the service
        marks as content to the network in front of it (content_marks.py)."""
        self.service = service
        self.model = model
        self.identity_headers = list(IIS_HEADERS if identity_headers is None else identity_headers)
        self.error_renderer = error_renderer or error_response
        self.url_check = url_check or url_check_for(service)
        self.clock = clock or ModelClock(Scale(), real_epoch=time.time(), model_epoch=datetime.now(UTC))
        self.journal = Journal()
        self.faults = FaultTable(self.clock.now)
        self.logs = ServiceLogs(logs or {}, self.clock.now)
        self._extra_reset = extra_reset
        self.authority = authority
        self.content = content
        self._holds = itertools.count(1)
        self.started = time.time()

    async def hold(self, model_seconds: float, request: int) -> None:
        """A request held on the model clock (a delay fault): scaled real time, or a wait at the virtual clock's
        authority as an actor of its own, during which the request does not count as busy."""
        clock = self.clock
        if clock.virtual is None:
            await anyio.sleep(clock.scale.real_seconds(model_seconds))
            return
        name = f"{self.service}/delay/{next(self._holds)}"
        ACTIVITY.hold(request)
        try:
            await hold(clock.virtual.authority, name, model_seconds, woke=lambda: ACTIVITY.unhold(request))
        finally:
            ACTIVITY.unhold(request)

    def reset(self) -> None:
        self._holds = itertools.count(1)  # holders are named by their order in the scenario
        self.model.reset()
        if self._extra_reset is not None:
            self._extra_reset()
        if self.authority is not None:
            self.authority.reset()  # every scenario starts at the model epoch: the same seed, the same timeline
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
            Route(f"{CONTROL_PREFIX}/clock", self._clock, methods=["GET"]),
            Route(f"{CONTROL_PREFIX}/clock/advance", self._advance, methods=["POST"]),
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
            self.faults.arm(_product_fault(await read_json(request)))
        elif request.method == "DELETE":
            self.faults.clear()
        return JSONResponse(self.faults.armed())

    async def _logs(self, request: Request) -> Response:
        with_text = request.query_params.get("text", "false")
        if with_text not in ("true", "false"):
            raise HttpError(400, f"'text' must be true or false, not {with_text!r}")
        return JSONResponse(self.logs.sizes(with_text=with_text == "true"))

    async def _clock(self, request: Request) -> Response:
        clock = self.clock
        answer: dict[str, Any] = {"service": self.service, "mode": clock.mode, "scale": clock.scale.factor,
                                  "now": clock.now().isoformat(), "model_seconds": round(clock.seconds(), 6)}
        if self.authority is not None:
            answer["authority"] = {"address": self.authority.address, **self.authority.snapshot()}
        return JSONResponse(answer)

    async def _advance(self, request: Request) -> Response:
        if self.authority is None:
            where = "the network service's control API" if self.clock.mode == "virtual" else "nowhere"
            raise HttpError(409, f"{self.service} keeps no clock of its own ({self.clock.mode} clock); "
                                 f"model time is moved by hand at {where}")
        body = await read_json(request)
        seconds = body.get("seconds") if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds < 10**9:
            raise HttpError(400, "body must be {\"seconds\": S}: the model seconds to move on, 0 or more")
        return JSONResponse({"service": self.service, **self.authority.advance(float(seconds))})

    async def _log(self, request: Request) -> Response:
        name = request.path_params["name"]
        text = self.logs.text(name)
        if text is None:
            known = ", ".join(self.logs.names()) or "none"
            raise HttpError(404, f"{self.service} has no log {name!r}; its logs are: {known}")
        return PlainTextResponse(text)


def _product_fault(data: Any) -> Fault:
    try:
        fault = parse_fault(data)
    except FaultError as error:
        raise HttpError(400, str(error)) from None
    if fault.path.startswith(CONTROL_PREFIX):
        raise HttpError(400, f"path must be a product path: faults never apply to {CONTROL_PREFIX}/")
    return fault


async def read_json(request: Request) -> Any:
    import json

    body = await request.body()
    try:
        return json.loads(body or b"null")
    except ValueError as error:  # not JSON, not UTF-8, or an integer of more digits than int() converts
        raise HttpError(400, f"request body is not valid JSON: {error}") from None
    except RecursionError:
        raise HttpError(400, "request body is JSON nested too deeply to read") from None


# A handler sets request.state.<JOURNAL_NOTE> to say why it answered as it did; the journal keeps it. Notes that
# start with DELIBERATE or FAULT (harness/protocol/control_api.py) mark a 5xx the scenario arranged, not a bug.
JOURNAL_NOTE = "journal_note"
# The request's number at the virtual clock's activity (request.state.<REQUEST_KEY>): what ControlPlane.hold takes.
REQUEST_KEY = "harness_request"


class ControlMiddleware:
    """Journals every request, applies armed faults, and turns HttpError into a clear answer.

    Pure ASGI (not BaseHTTPMiddleware) so streamed downloads pass through untouched.
    """

    def __init__(self, app: ASGIApp, control: ControlPlane) -> None:
        self.app = UrlGate(app, control.url_check)  # inside: a refused URL is journaled like any answer
        self.control = control
        quiet_uvicorn_about_deliberate_cuts()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        answered = _Answer()

        product = not path.startswith(CONTROL_PREFIX)

        async def send_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered.status = message["status"]
                headers, content = take_mark(list(message.get("headers", [])))
                message["headers"] = [*headers, *self.control.identity_headers]
                if content is not None and self.control.content is not None:
                    await self.control.content.declare(scope.get("client"), scope.get("server"), content)
            await send(message)

        faults = self.control.faults.take(method, path) if product else []
        try:
            with ACTIVITY.request(f"{method} {path}") if product else contextlib.nullcontext(0) as request:
                await self._answer(scope, receive, send_recording, faults, answered, request)
        finally:
            elapsed = (time.perf_counter() - started) * 1e3
            query = scope.get("query_string", b"").decode("latin-1")
            self.control.journal.record(method, path, query, answered.status, elapsed, answered.journal_note())

    async def _answer(self, scope: Scope, receive: Receive, send: Send, faults: list[Fault],
                      answered: _Answer, key: int) -> None:
        """The app's answer, or a status fault's; either with the other faults' effects on its way out."""
        faulted = FaultedSend(faults, self.control.clock.scale, send,
                              hold=lambda seconds: self.control.hold(seconds, key))
        scope.setdefault("state", {})[REQUEST_KEY] = key  # an app that holds a request on the clock names it
        answer = next((f for f in faults if isinstance(f.effect, Answer)), None)
        answered.by_fault = answer is not None
        try:
            if answer is None:
                await self.app(scope, receive, faulted)
                answered.note = scope.get("state", {}).get(JOURNAL_NOTE, "")
            else:
                await fault_response(answer, self.control.error_renderer)(scope, receive, faulted)
        finally:  # the faults are noted even when the app dies on the way
            answered.faults = faulted.notes()
            if faulted.cut_short:
                cut_on_purpose()


@dataclass
class _Answer:
    status: int = 500  # what the journal says when the app died before answering
    note: str = ""  # the app's own (JOURNAL_NOTE)
    faults: list[str] = field(default_factory=list)  # what each fault that fired did
    by_fault: bool = False  # a status fault answered; the app never ran

    def journal_note(self) -> str:
        fault_notes = "; ".join(f"{FAULT}{note}" for note in self.faults)
        if self.by_fault or not fault_notes:
            return fault_notes or self.note
        # The app answered: its own note leads, and a 5xx it gave unasked must not hide behind a fault's
        # prefix (a scenario fails on a 5xx unless its note starts with FAULT or DELIBERATE).
        lead = self.note or (f"{self.status} from the service itself" if self.status >= 500 else "")
        return "; ".join(part for part in (lead, fault_notes) if part)

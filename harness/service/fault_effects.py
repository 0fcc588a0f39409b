"""How the faults that fired on one request change its exchange, between the answering app and the wire.

A delay holds the response headers. A truncate lets the body run to `after_bytes` and then ends the exchange
without completing it: the declared Content-Length stays, so a client over HTTP sees a short read when uvicorn
closes the connection (Starlette's TestClient just returns the short body). A corrupt inverts one body byte in
every `every_bytes`, counting from the body's first byte, so the length holds and a hash check fails.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar

import anyio
from starlette.types import Message, Send

from harness.model.units import Scale
from harness.service.faults import Corrupt, Delay, Fault, Truncate

Hold = Callable[[float], Awaitable[None]]


class FaultedSend:
    """`send` with the delay, truncate and corrupt faults among `faults` applied (a status fault answers
    instead of the app, which is the middleware's to arrange). `hold(model_seconds)` waits out a delay: on the
    service's model clock (ControlPlane.hold), or scaled real time by default."""

    def __init__(self, faults: Sequence[Fault], scale: Scale, send: Send, hold: Hold | None = None) -> None:
        self._faults = faults
        self._send = send
        self._hold = hold or (lambda model_seconds: anyio.sleep(scale.real_seconds(model_seconds)))
        self._hold_s = sum(f.effect.delay_s for f in faults if isinstance(f.effect, Delay))
        self._cut_at = next((f.effect.after_bytes for f in faults if isinstance(f.effect, Truncate)), None)
        self._every = next((f.effect.every_bytes for f in faults if isinstance(f.effect, Corrupt)), None)
        self._sent = 0  # body bytes the app has produced so far
        self.cut_short = False

    async def __call__(self, message: Message) -> None:
        if self.cut_short:
            return  # the exchange is over for the client; what the app still sends goes nowhere
        if message["type"] == "http.response.start" and self._hold_s:
            await self._hold(self._hold_s)
        if message["type"] == "http.response.body" and (self._cut_at is not None or self._every is not None):
            message = self._faulted_body(message)
        await self._send(message)

    def _faulted_body(self, message: Message) -> Message:
        body = bytes(message.get("body", b""))
        start, self._sent = self._sent, self._sent + len(body)
        if self._every is not None:
            body = inverted(body, start, self._every)
        if self._cut_at is not None and self._sent > self._cut_at:
            self.cut_short = True
            return {"type": "http.response.body", "body": body[:self._cut_at - start], "more_body": True}
        return {**message, "body": body}

    def notes(self) -> list[str]:
        """What each fault did to the exchange so far, for the journal."""
        return [self._note(fault) for fault in self._faults]

    def _note(self, fault: Fault) -> str:
        if isinstance(fault.effect, Truncate) and not self.cut_short:
            return f"body ended within the {fault.effect.after_bytes} bytes a truncate lets through ({fault.reason})"
        return fault.note()


def inverted(body: bytes, offset: int, every: int) -> bytes:
    """`body`, which starts `offset` bytes into the response body, with each byte at a multiple of `every`
    inverted."""
    data = bytearray(body)
    first = -offset % every
    data[first::every] = data[first::every].translate(_INVERT)
    return bytes(data)


_INVERT = bytes(0xFF - value for value in range(256))


# uvicorn logs "ASGI callable returned without completing response." at ERROR when an app ends a response
# short, and closes the connection. A truncate fault does that on purpose and the journal notes it, so that
# complaint is dropped — for that request only: the flag lives in the request's own task context, which is
# where uvicorn logs from once the app has returned.
_UVICORN_COMPLAINT = "ASGI callable returned without completing response."
_CUT_ON_PURPOSE: ContextVar[bool] = ContextVar("cut_on_purpose", default=False)


class _QuietAboutDeliberateCuts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (_CUT_ON_PURPOSE.get() and record.msg == _UVICORN_COMPLAINT)


_QUIET = _QuietAboutDeliberateCuts()


def quiet_uvicorn_about_deliberate_cuts() -> None:
    logger = logging.getLogger("uvicorn.error")
    if _QUIET not in logger.filters:
        logger.addFilter(_QUIET)


def cut_on_purpose() -> None:
    """Marks the running request's response as cut short by a fault. Call from the request's own task (the
    middleware), not from `send`, which a streamed response may call from a child task."""
    _CUT_ON_PURPOSE.set(True)

"""The CMG's Azure deployment as the harness models it: how many VMs of which size (the places they give
clients), and the outbound data the CMG's monitoring counts against its threshold (harness/model/cmg_capacity.py).

    PUT  /_harness/cmg/deployment   {"vms": 2, "vm_size": "Standard (A2_v2)", "request_seconds": 1,
                                     "egress_threshold_bytes": 10000000000000, "stop_at_critical": false}
    GET  /_harness/cmg/deployment   the settings, the places in service, the waits, the egress and any stop
    POST /_harness/cmg/egress       {"bytes": N}: N model bytes the CMG's storage sent a client (the storage front)

Every request to the CMG takes a place (a fleet's request one per member). Over capacity a request waits for a
place: a fleet's answer says how long in X-Harness-Model-Done; a single client's is held on the model clock.
Once the egress check has stopped the CMG, it answers every client 503 (its journal marks it deliberate: the
scenario set the threshold).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from harness.clock.model_clock import ModelClock
from harness.model.cmg_capacity import (
    DEFAULT_REQUEST_S,
    DEFAULT_THRESHOLD_BYTES,
    EgressMeter,
    Places,
    VmSize,
    client_capacity,
)
from harness.protocol.control_api import DELIBERATE
from harness.protocol.fleet_headers import FLEET_CLIENTS, MODEL_DONE, FleetHeaderError, read_clients, write_done
from harness.service.control import JOURNAL_NOTE, HttpError, read_json

STOPPED = "the CMG stopped itself: its outbound data passed the critical threshold"
_SETTINGS = {"vms", "vm_size", "request_seconds", "egress_threshold_bytes", "stop_at_critical"}
Hold = Callable[[float], Awaitable[None]]


class CmgDeployment:
    def __init__(self, clock: ModelClock) -> None:
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        self.vms, self.size, self.request_s = 1, VmSize.STANDARD_A2_V2, DEFAULT_REQUEST_S
        self.places = Places(client_capacity(self.size, self.vms), self.request_s)
        self.egress = EgressMeter(DEFAULT_THRESHOLD_BYTES)
        self.requests = self.waited = 0  # clients' requests, and those that waited for a place
        self.longest_wait_s = 0.0

    def now_s(self) -> float:
        return (self.clock.now() - self.clock.model_epoch).total_seconds()

    def admit(self, request: Request) -> tuple[list[float], bool]:
        """The request's clients take places: each one's answer is done this long after now; and whether the
        request is a fleet's (its answer says so) rather than a single client's (held until done)."""
        try:
            cohort = read_clients(request.headers.get(FLEET_CLIENTS))
        except FleetHeaderError as error:
            raise HttpError(400, str(error)) from None
        if self.egress.advance(self.now_s()):
            setattr(request.state, JOURNAL_NOTE, f"{DELIBERATE}{STOPPED}")
            raise HttpError(503, f"{STOPPED} (at model second {self.egress.stopped_at:g})")
        done = self.places.admit(self.now_s(), cohort or 1)
        waits = [d - self.request_s for d in done]
        self.requests += len(done)
        self.waited += sum(1 for w in waits if w > 1e-9)
        self.longest_wait_s = max(self.longest_wait_s, *waits)
        return done, cohort is not None

    async def answered(self, request: Request, headers: dict[str, str], hold: Hold) -> None:
        """Before the answer goes: a fleet's learns when each member is done; a single client waits over capacity."""
        done, fleet = self.admit(request)
        if fleet:
            headers[MODEL_DONE] = write_done(done)
        elif done[0] > self.request_s + 1e-9:
            await hold(done[0] - self.request_s)

    # -- the control API ---------------------------------------------------------------------------------

    async def put_settings(self, request: Request) -> JSONResponse:
        body = await read_json(request)
        if not isinstance(body, dict) or set(body) - _SETTINGS:
            raise HttpError(400, f"the deployment takes a JSON object of {', '.join(sorted(_SETTINGS))}")
        try:
            size = VmSize.parse(str(body.get("vm_size", self.size.words)))
            vms = _whole(body.get("vms", self.vms), "vms")
            capacity = client_capacity(size, vms)
            request_s = _number(body.get("request_seconds", self.request_s), "request_seconds")
            threshold = _whole(body.get("egress_threshold_bytes", self.egress.threshold_bytes),
                               "egress_threshold_bytes")
            stop = body.get("stop_at_critical", self.egress.stop_at_critical)
            if not isinstance(stop, bool):
                raise ValueError("stop_at_critical must be true or false")
            egress = EgressMeter(threshold, stop)
        except ValueError as error:
            raise HttpError(422, str(error)) from None
        self.size, self.vms, self.request_s = size, vms, request_s
        self.places, self.egress = Places(capacity, request_s), egress
        return JSONResponse(self.snapshot())

    async def get_settings(self, request: Request) -> JSONResponse:
        self.egress.advance(self.now_s())
        return JSONResponse(self.snapshot())

    async def post_egress(self, request: Request) -> JSONResponse:
        body = await read_json(request)
        sent = body.get("bytes") if isinstance(body, dict) else None
        if not isinstance(sent, int) or isinstance(sent, bool) or sent < 0:
            raise HttpError(400, "egress takes {\"bytes\": N}, N model bytes (a whole number, 0 or more)")
        self.egress.record(self.now_s(), sent)
        return JSONResponse({"total_bytes": self.egress.total(self.now_s())})

    def snapshot(self) -> dict[str, Any]:
        now = self.now_s()
        return {"vms": self.vms, "vm_size": self.size.words, "capacity": self.places.capacity,
                "request_seconds": self.request_s, "in_service": self.places.in_service(now),
                "requests": self.requests, "waited": self.waited, "longest_wait_s": round(self.longest_wait_s, 3),
                "egress": {"total_bytes": self.egress.total(now), "threshold_bytes": self.egress.threshold_bytes,
                           "critical_bytes": self.egress.critical_bytes,
                           "stop_at_critical": self.egress.stop_at_critical,
                           "stopped_at_s": self.egress.stopped_at}}

    def routes(self) -> list[Route]:
        return [Route("/_harness/cmg/deployment", self.put_settings, methods=["PUT"]),
                Route("/_harness/cmg/deployment", self.get_settings, methods=["GET"]),
                Route("/_harness/cmg/egress", self.post_egress, methods=["POST"])]


def _whole(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    return value


def _number(value: object, name: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number of seconds, 0 or more, not {value!r}")
    return float(value)

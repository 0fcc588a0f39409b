"""What the storage front counts for the CMG's capacity model (harness/model/cmg_capacity.py): requests for one
file, at most 500 a second; the bytes the CMG's storage account sends clients, which the CMG's egress threshold
counts (POST /_harness/cmg/egress on the CMG); and, when a scenario sets one, the rate all of those downloads
share (PUT /_harness/storage/egress {"bytes_per_second": N, or null for none}).

A fleet's request (X-Harness-Fleet-Clients) stands for its cohort's clients: each member is one more request
for the file and its bytes again; the answer says, in X-Harness-Model-Done, when each member's request started.
A single client's request counts once and is answered at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from harness.clock.model_clock import ModelClock
from harness.model.cmg_capacity import FileRequests, SharedEgress
from harness.net.http import make_async_client
from harness.protocol.fleet_headers import FLEET_CLIENTS, MODEL_DONE, FleetHeaderError, read_clients, write_done
from harness.service.control import HttpError, read_json

_log = logging.getLogger(__name__)


class EgressReport:
    """Tells the CMG what its storage account sent clients: model bytes, as they leave."""

    def __init__(self, url: str, hosts: Mapping[str, str], ca_cert: Path, account: str) -> None:
        self.account = account
        self._url = f"{url.rstrip('/')}/_harness/cmg/egress"
        self._client = make_async_client(hosts, ca_cert, timeout=10.0)

    async def sent(self, model_bytes: int) -> None:
        try:
            answer = await self._client.post(self._url, json={"bytes": model_bytes})
            answer.raise_for_status()
        except httpx.HTTPError as error:  # the download goes on; the CMG's count misses it, and the log says so
            _log.warning("could not report %d bytes of egress to %s: %s", model_bytes, self._url, error)


class FleetCounter:
    """Per-file request pacing and the CMG's egress, for one storage front."""

    def __init__(self, clock: ModelClock, egress: EgressReport | None) -> None:
        self.clock = clock
        self.egress = egress
        self.files: dict[str, FileRequests] = {}
        self.shared = SharedEgress()

    def reset(self) -> None:
        self.files.clear()
        self.shared = SharedEgress()

    async def put_egress(self, request: Request) -> JSONResponse:
        body = await read_json(request)
        rate = body.get("bytes_per_second") if isinstance(body, dict) and set(body) == {"bytes_per_second"} else 0
        if rate is not None and (not isinstance(rate, int | float) or isinstance(rate, bool) or rate <= 0):
            raise HttpError(400, "egress takes {\"bytes_per_second\": N}, N model bytes a second above 0 (null: no "
                                 "limit)")
        self.shared = SharedEgress(None if rate is None else float(rate))
        return JSONResponse({"bytes_per_second": self.shared.bytes_per_second})

    def routes(self) -> list[Route]:
        return [Route("/_harness/storage/egress", self.put_egress, methods=["PUT"])]

    async def count(self, host: str, path: str, headers: Mapping[str, str], length: int) -> dict[str, str]:
        """A blob answered `length` bytes: the headers to add to the answer."""
        try:
            cohort = read_clients(headers.get(FLEET_CLIENTS))
        except FleetHeaderError as error:
            raise HttpError(400, str(error)) from None
        members = cohort or 1
        now = (self.clock.now() - self.clock.model_epoch).total_seconds()
        limiter = self.files.setdefault(path, FileRequests())
        last = limiter.admit(now, members)
        first = last - (members - 1) / limiter.per_second
        starts = [first + i / limiter.per_second for i in range(members)]
        size = round(length * self.clock.scale.factor)
        ends = starts
        if self.egress is not None and host.split(".", 1)[0].lower() == self.egress.account.lower():
            ends = [self.shared.send(start, [size])[0] for start in starts]
            await self.egress.sent(size * members)
        return {} if cohort is None else {MODEL_DONE: write_done([end - now for end in ends])}

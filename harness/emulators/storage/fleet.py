"""What the storage front counts for the CMG's capacity model (harness/model/cmg_capacity.py): requests for one
file, at most 500 a second, and the bytes the CMG's storage account sends clients, which the CMG's egress
threshold counts (POST /_harness/cmg/egress on the CMG).

A fleet's request (X-Harness-Fleet-Clients) stands for its cohort's clients: each member is one more request
for the file and its bytes again; the answer says, in X-Harness-Model-Done, when each member's request started.
A single client's request counts once and is answered at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import httpx

from harness.clock.model_clock import ModelClock
from harness.model.cmg_capacity import FileRequests
from harness.net.http import make_async_client
from harness.protocol.fleet_headers import FLEET_CLIENTS, MODEL_DONE, FleetHeaderError, read_clients, write_done
from harness.service.control import HttpError

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

    def reset(self) -> None:
        self.files.clear()

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
        if self.egress is not None and host.split(".", 1)[0].lower() == self.egress.account.lower():
            await self.egress.sent(round(length * members * self.clock.scale.factor))
        if cohort is None:
            return {}
        first = last - (members - 1) / limiter.per_second
        return {MODEL_DONE: write_done([first - now + i / limiter.per_second for i in range(members)])}

"""A process of the emulated world as the clock authority sees it: a participant that reports over its connection
(`participant.py` is its side). The authority asks `{"op": "report", "id": K}`; the answer's report resolves the
question with that id."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from harness.clock.settle import Report

REPORT_TIMEOUT_SECONDS = 10.0  # a participant that does not answer in this long is reported busy


class RemoteParticipant:
    """A process of the world that reports, over its connection."""

    def __init__(self, party: str, writer: asyncio.StreamWriter) -> None:
        self.party = party
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Report]] = {}

    async def report(self) -> Report:
        ask = next(self._ids)
        future = self._pending[ask] = asyncio.get_running_loop().create_future()
        self._writer.write(json.dumps({"op": "report", "id": ask}).encode() + b"\n")
        try:
            return await asyncio.wait_for(future, REPORT_TIMEOUT_SECONDS)
        finally:
            self._pending.pop(ask, None)

    def answered(self, message: dict[str, Any]) -> None:
        future = self._pending.get(int(message.get("id", 0)))
        if future is not None and not future.done():
            future.set_result(Report.from_json(message["report"]))

    def gone(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError(f"participant {self.party} went away"))

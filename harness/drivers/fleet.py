"""Drives fleets on the client agent (POST /fleets) and reads what their clients' runs add up to."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from harness.clock.actor import Actor, NoActor
from harness.drivers.base import ServiceDriver
from harness.model.fleet import ClientKind, ClientOutcome

LONG_POLL_SECONDS = 5.0


class FleetTimeout(AssertionError):
    pass


@dataclass(frozen=True)
class FleetResult:
    name: str
    outcomes: tuple[ClientOutcome, ...]

    @property
    def failed(self) -> tuple[ClientOutcome, ...]:
        return tuple(o for o in self.outcomes if o.error is not None)

    @property
    def downloaded_bytes(self) -> int:
        return sum(o.downloaded_bytes for o in self.outcomes)


class FleetDriver(ServiceDriver):
    """`clock`: the scenario's actor, idle while `wait` polls (model time moves only then)."""

    service = "client agent"

    def __init__(self, http: httpx.Client, base: str, *, clock: Actor | NoActor | None = None) -> None:
        super().__init__(http, base)
        self.clock = clock or NoActor()

    def start(self, body: dict[str, Any]) -> str:
        name: str = self.call("POST", "/fleets", body)["fleet"]
        return name

    def wait(self, name: str, timeout: float) -> FleetResult:
        """Until every client of the fleet has started its upgrade step or failed; loud after `timeout` real s."""
        deadline = time.monotonic() + timeout
        with self.clock.waiting():
            while True:
                wait = min(LONG_POLL_SECONDS, max(0.0, deadline - time.monotonic()))
                response = self.http.get(f"{self.base}/fleets/{name}", params={"wait": wait}, timeout=wait + 30)
                state: dict[str, Any] = response.json()
                if response.status_code >= 400 or state.get("state") == "done":
                    break
                if time.monotonic() > deadline:
                    raise FleetTimeout(f"fleet {name} still running after {timeout:.0f} s")
        if response.status_code >= 400 or state.get("error"):
            raise AssertionError(f"fleet {name} failed: {state.get('error') or response.text}")
        return FleetResult(name, tuple(_outcomes(state["groups"])))


def _outcomes(groups: list[dict[str, Any]]) -> list[ClientOutcome]:
    found = []
    for group in groups:
        kind = ClientKind(group["kind"]["network"], group["kind"]["auth"])
        for member in group["members"]:
            found.append(ClientOutcome(member, kind, group["start_s"], group["step_start_s"], group["end_s"],
                                       group["downloaded_bytes"], group["cmg_wait_s"], group["error"],
                                       group.get("content_s")))
    return sorted(found, key=lambda o: o.name)

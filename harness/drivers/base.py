"""Shared plumbing for drivers: one HTTP client, errors that carry the service's reason."""

from __future__ import annotations

from typing import Any

import httpx

from harness.drivers.faults import Fault
from harness.protocol.control_api import arranged


class ServiceRequestError(RuntimeError):
    """A service refused a control or admin request; the message is the service's own reason."""

    def __init__(self, service: str, response: httpx.Response) -> None:
        reason = response.headers.get("x-harness-reason") or response.text.strip()
        super().__init__(f"{service} refused {response.request.method} {response.request.url.path}: "
                         f"{response.status_code} {reason}")
        self.status = response.status_code
        self.reason = reason


class ServiceDriver:
    service = "service"

    def __init__(self, http: httpx.Client, base: str) -> None:
        self.http = http
        self.base = base.rstrip("/")

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{self.base}{path}", json=body)
        if response.status_code >= 400:
            raise ServiceRequestError(self.service, response)
        if "json" in response.headers.get("content-type", ""):
            return response.json()
        return response.text

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/_harness/health")
        return result

    def reset(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("POST", "/_harness/reset")
        return result

    def journal(self, since: int = 0) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call("GET", f"/_harness/journal?since={since}")
        return result

    def server_errors(self) -> list[dict[str, Any]]:
        """The journal's 5xx answers that the scenario did not arrange (a stopped service and an armed fault say
        so in their notes): each one is a bug in the service."""
        return [e for e in self.journal() if int(e["status"]) >= 500 and not arranged(str(e["note"]))]

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/_harness/state")
        return result

    def logs(self) -> dict[str, str]:
        """The service's CMTrace logs with lines since the last reset, by file name (e.g. MP_Location.log)."""
        listing: list[dict[str, Any]] = self.call("GET", "/_harness/logs?text=true")
        return {str(entry["name"]): str(entry["text"]) for entry in listing}

    def arm(self, path: str, fault: Fault) -> None:
        """Arms an HTTP-level fault on requests under `path`: `Status(503).times(2)`, `Delay(600)`, `Cut(after=…)`,
        `Corrupt()` (harness/drivers/faults.py)."""
        self.call("POST", "/_harness/faults", fault.to_json(path))

    def faults(self) -> list[dict[str, Any]]:
        """The armed faults, oldest first, each with its remaining count, times fired and state."""
        result: list[dict[str, Any]] = self.call("GET", "/_harness/faults")
        return result

    def clear_faults(self) -> None:
        self.call("DELETE", "/_harness/faults")

"""Drives the CMG's control API (its product endpoints are for clients)."""

from __future__ import annotations

from typing import Any

from harness.drivers.base import ServiceDriver
from harness.protocol.content_url import CONTENT_PATH


class CmgDriver(ServiceDriver):
    service = "cmg"

    def content_requests(self) -> list[dict[str, object]]:
        """Journal entries of the content service (getcontentxmlsecure)."""
        return [e for e in self.journal() if CONTENT_PATH in str(e["path"]).lower()]

    def set_deployment(self, **settings: Any) -> dict[str, Any]:
        """vms, vm_size (the console's words), request_seconds, egress_threshold_bytes, stop_at_critical."""
        result: dict[str, Any] = self.call("PUT", "/_harness/cmg/deployment", settings)
        return result

    def deployment(self) -> dict[str, Any]:
        """The settings, the places in service, how many requests waited and how long, the egress and any stop."""
        result: dict[str, Any] = self.call("GET", "/_harness/cmg/deployment")
        return result

"""Drives the classic cloud DP's control API: the console's Stop/Start of the service (B-23)."""

from __future__ import annotations

from harness.drivers.base import ServiceDriver
from harness.protocol.content_url import CONTENT_PATH


class CloudDpDriver(ServiceDriver):
    service = "clouddp"

    def set_stopped(self, stopped: bool) -> None:
        """Stopped: the management point still lists it, but it answers no content request."""
        self.call("PUT", "/_harness/clouddp/state", {"stopped": stopped})

    def content_requests(self) -> list[dict[str, object]]:
        """Journal entries of the content service (getcontentxmlsecure)."""
        return [e for e in self.journal() if CONTENT_PATH in str(e["path"]).lower()]

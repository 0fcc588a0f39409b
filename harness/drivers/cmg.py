"""Drives the CMG's control API (its product endpoints are for clients)."""

from __future__ import annotations

from harness.drivers.base import ServiceDriver
from harness.protocol.content_url import CONTENT_PATH


class CmgDriver(ServiceDriver):
    service = "cmg"

    def content_requests(self) -> list[dict[str, object]]:
        """Journal entries of the content service (getcontentxmlsecure)."""
        return [e for e in self.journal() if CONTENT_PATH in str(e["path"]).lower()]

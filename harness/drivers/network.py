"""Drives the network between clients and services: Toxiproxy's API, in the words scenarios use.

The proxies are named after the services behind them (`site`, `cmg`, `clouddp`, `storage`). Everything here
speaks Toxiproxy's HTTP API, so the same driver works against a real Toxiproxy; model units are converted with
the environment's scale (bandwidth is the same in model and real time, durations and sizes are scaled).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from harness.drivers.base import ServiceRequestError
from harness.model.units import Scale
from harness.net.toxics import ModelToxics, Toxic

# Toxic names the link helpers own, so a second call replaces the first instead of stacking.
LINK_BANDWIDTH, LINK_LATENCY = "link_bandwidth", "link_latency"


class NetworkDriver:
    service = "network"

    def __init__(self, http: httpx.Client, base: str, scale: Scale) -> None:
        self.http = http
        self.base = base.rstrip("/")
        self.toxics = ModelToxics(scale)

    # -- Toxiproxy's API -------------------------------------------------------------------------------

    def proxies(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/proxies")
        return result

    def add_toxic(self, proxy: str, toxic: Toxic | Mapping[str, Any]) -> dict[str, Any]:
        body = toxic.to_json() if isinstance(toxic, Toxic) else dict(toxic)
        result: dict[str, Any] = self._call("POST", f"/proxies/{proxy}/toxics", body)
        return result

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        """Disabled is "down": new connections are refused and open ones closed."""
        self._call("POST", f"/proxies/{proxy}", {"enabled": enabled})

    def reset(self) -> None:
        self._call("POST", "/reset")

    # -- model units -----------------------------------------------------------------------------------

    def link(self, proxy: str, *, mbit_per_s: float | None = None, latency_s: float | None = None,
             jitter_s: float = 0.0) -> None:
        """The link to a service: its bandwidth towards clients and a one-way latency, in model units."""
        if mbit_per_s is not None:
            self._replace(proxy, self.toxics.bandwidth(mbit_per_s, name=LINK_BANDWIDTH))
        if latency_s is not None:
            self._replace(proxy, self.toxics.latency(latency_s, jitter_s, name=LINK_LATENCY))

    def cut_after(self, proxy: str, model_bytes: int, *, name: str = "cut") -> None:
        """Every connection to the service is closed after this many (model) bytes towards the client."""
        self._replace(proxy, self.toxics.limit_data(model_bytes, name=name))

    def stall(self, proxy: str, model_seconds: float, *, name: str = "stall") -> None:
        """Every connection stops carrying data, then closes after `model_seconds` (Toxiproxy's timeout)."""
        self._replace(proxy, self.toxics.timeout(model_seconds, name=name))

    def reset_connections(self, proxy: str, *, after_s: float = 0.0, name: str = "reset") -> None:
        """Every connection is reset (TCP RST) after `after_s` model seconds (Toxiproxy's reset_peer)."""
        self._replace(proxy, self.toxics.reset_peer(after_s, name=name))

    def slice(self, proxy: str, physical_bytes: int, every_s: float, *, name: str = "slicer") -> None:
        """Data towards clients in pieces of `physical_bytes` on the wire, `every_s` model seconds apart."""
        self._replace(proxy, self.toxics.slicer(physical_bytes, 0, every_s, name=name))

    def _replace(self, proxy: str, toxic: Toxic) -> None:
        names = {t["name"] for t in self._call("GET", f"/proxies/{proxy}/toxics")}
        if toxic.name in names:
            self.remove_toxic(proxy, toxic.name)
        self.add_toxic(proxy, toxic)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{self.base}{path}", json=body)
        if response.status_code >= 400:
            raise ServiceRequestError(self.service, response)
        if response.status_code == 204 or not response.content:
            return None
        if "json" in response.headers.get("content-type", ""):
            return response.json()
        return response.text

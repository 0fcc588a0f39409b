"""Drives the site as an administrator would in the console."""

from __future__ import annotations

from typing import Any

from harness.drivers.base import ServiceDriver


class SiteDriver(ServiceDriver):
    service = "site"

    def set_version(self, version: int) -> None:
        self.call("PUT", "/_harness/site/version", {"version": version})

    def define_package(self, package_id: str, name: str, size: str | int, *, version: int = 1,
                       kind: str = "Package", package_share: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self.call("PUT", f"/_harness/site/packages/{package_id}",
                                           {"name": name, "size": size, "version": version, "type": kind,
                                            "package_share": package_share})
        return result

    def damage(self, package_id: str, *sources: str) -> None:
        self.call("POST", f"/_harness/site/packages/{package_id}/damage", {"on": list(sources)})

    def distribute(self, package_id: str, *sources: str) -> None:
        self.call("POST", f"/_harness/site/packages/{package_id}/distribute", {"to": list(sources)})

    def define_task_sequence(self, package_id: str, name: str, steps: list[dict[str, Any]],
                             variables: dict[str, str] | None = None, boot_image: str = "") -> None:
        self.call("PUT", f"/_harness/site/task-sequences/{package_id}",
                  {"name": name, "steps": steps, "variables": variables or {}, "boot_image": boot_image})

    def deploy(self, deployment_id: str, task_sequence: str, *, option: str, purpose: str = "Available",
               allow_internet: bool = True, available_to: str = "Only Configuration Manager clients",
               pre_download: bool = False) -> None:
        self.call("PUT", f"/_harness/site/deployments/{deployment_id}",
                  {"task_sequence": task_sequence, "option": option, "purpose": purpose,
                   "allow_internet": allow_internet, "available_to": available_to, "pre_download": pre_download})

    def set_serve_content(self, source: str, enabled: bool) -> None:
        self.call("PUT", f"/_harness/site/cloud-sources/{source}", {"serve_content": enabled})

    def define_boundary_group(self, name: str, *, boundaries: list[str], distribution_points: list[str],
                              neighbors: list[str] | None = None, prefer_cloud: bool = False,
                              peer_downloads: bool = True) -> None:
        self.call("PUT", f"/_harness/site/boundary-groups/{name}",
                  {"boundaries": boundaries, "distribution_points": distribution_points,
                   "neighbors": neighbors or [], "prefer_cloud": prefer_cloud, "peer_downloads": peer_downloads})

    def declare_peer_cache_source(self, name: str, *, ad_site: str, packages: list[str]) -> None:
        """The client `name` is a peer cache source in `ad_site` whose cache holds `packages`."""
        self.call("PUT", f"/_harness/site/peer-cache-sources/{name}", {"ad_site": ad_site, "packages": packages})

    def set_third_party_certificate(self, source: str, enabled: bool) -> None:
        self.call("PUT", f"/_harness/site/cloud-sources/{source}", {"third_party_certificate": enabled})

    def create_cloud_dp(self, name: str = "clouddp") -> None:
        self.call("POST", f"/_harness/site/cloud-dps/{name}")

    def registration_token(self, client: str) -> str:
        token: str = self.call("POST", "/_harness/site/registration-tokens", {"client": client})["token"]
        return token

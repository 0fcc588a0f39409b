"""Peer cache sources: clients that share the content in their cache with the clients of their boundary group
(B-21), never over a CMG (B-22).

What the product does (learn.microsoft.com/mem/configmgr/core/plan-design/hierarchy/client-peer-cache and
…/boundary-group-options):
- A client becomes a peer cache source through a client setting, and reports what its cache holds to the site.
  The management point then includes those peers in a content location reply, for clients of the peer's current
  boundary group whose group allows peer downloads ("Allow peer downloads in this boundary group", on by
  default). The client says it may use them with `AllowSuperPeer="1"` in its request.
- A task sequence tries peer cache sources before the distribution points of its boundary group
  (…/boundary-groups-distribution-points, "Task sequence").
- Peer cache is not supported over a cloud management gateway (…/clients/manage/cmg/supported-configurations):
  a request that came through the CMG is answered without peers.

What the harness invents, marked [INFERENCE]:
- The URL: `https://<peer FQDN>:<port>/SCCM_BranchCache$/<PackageID>`. Community write-ups of the SuperPeer
  service show that share name on the peer's content port (8003 by default); the harness serves it on the site
  process's port, as it serves its DPs, and over HTTPS like them.
- The record's `<DPType>PEER</DPType>` and `<Locality>PEER</Locality>`: logs show `SUBNETPEER` for a peer in the
  client's subnet; the emulated world has no subnets, only AD-site boundaries, so the harness says PEER.
- A peer cache source here is a name, an AD site and the packages its cache holds: the scenario says so, the way
  the site's database learns it from the peer's reports. The site process serves its SuperPeer share.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from harness.protocol.location import LocationRecord
from harness.protocol.paths import PEER_VDIR

PEER = "PEER"  # [INFERENCE] the DPType and Locality of a peer's location record


@dataclass(frozen=True)
class PeerSource:
    name: str  # the computer's name, e.g. PC01
    fqdn: str
    ad_site: str  # which boundary groups it is in
    packages: frozenset[str]  # what its cache holds (package IDs)


class PeerCacheSources:
    """The site's view of its peer cache sources. `known`: the peers this environment has (name -> FQDN); a
    scenario says which of them is a peer cache source, where, and with what content."""

    def __init__(self, known: Mapping[str, str]) -> None:
        self.known = {name.upper(): fqdn for name, fqdn in known.items()}
        self.sources: dict[str, PeerSource] = {}

    def declare(self, name: str, ad_site: str, packages: Iterable[str], defined: set[str]) -> PeerSource:
        """Raises LookupError for a computer the environment has no peer for, ValueError for unknown packages."""
        key = name.upper()
        if key not in self.known:
            raise LookupError(f"no peer cache source named {name!r} in this environment; it has "
                              f"{', '.join(sorted(self.known)) or 'none'}")
        held = frozenset(p.upper() for p in packages)
        unknown = sorted(held - defined)
        if unknown:
            raise ValueError(f"peer cache source {key} cannot hold undefined package(s) {', '.join(unknown)}")
        if not ad_site:
            raise ValueError(f"peer cache source {key} needs the AD site it is in")
        source = self.sources[key] = PeerSource(key, self.known[key], ad_site, held)
        return source

    def holding(self, package_id: str, ad_sites: Iterable[str]) -> list[PeerSource]:
        """The peers in any of `ad_sites` whose cache holds the package, by name."""
        sites = set(ad_sites)
        return sorted((s for s in self.sources.values() if s.ad_site in sites and package_id in s.packages),
                      key=lambda s: s.name)

    def for_host(self, host: str) -> PeerSource | None:
        """The peer cache source answering at `host`; None if that name is no peer, or no source (yet)."""
        name = next((name for name, fqdn in self.known.items() if fqdn.lower() == host.lower()), None)
        return self.sources.get(name) if name else None

    def is_peer_host(self, host: str) -> bool:
        return any(fqdn.lower() == host.lower() for fqdn in self.known.values())

    def clear(self) -> None:
        self.sources.clear()

    def snapshot(self) -> dict[str, object]:
        return {s.name: {"fqdn": s.fqdn, "ad_site": s.ad_site, "packages": sorted(s.packages)}
                for s in self.sources.values()}


def peer_record(source: PeerSource, package_id: str, port: int, build: int) -> LocationRecord:
    """The location record of a peer cache source for a package its cache holds."""
    return LocationRecord(url=f"https://{source.fqdn}:{port}/{PEER_VDIR}/{package_id}",
                          server_remote_name=source.fqdn.upper(), locality=PEER, dp_type=PEER, version=build,
                          capabilities=(("SSLState", "1"),))

"""Boundary groups: which distribution points an intranet client counts as local, which it may fall
back to, and whether it prefers cloud sources (B-15, B-18, B-19). No HTTP here.

Boundaries are AD site names (one of the boundary types the product has); a client is in every
boundary group with a boundary matching the AD site its location request names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class BoundaryGroup:
    name: str
    boundaries: tuple[str, ...]  # AD site names
    distribution_points: tuple[str, ...] = ()
    neighbors: tuple[str, ...] = ()  # boundary groups this one falls back to
    prefer_cloud: bool = False  # "Prefer cloud based sources over on-premises sources" (1810+)
    peer_downloads: bool = True  # "Allow peer downloads in this boundary group" (on by default)


@dataclass(frozen=True)
class Plan:
    """Where an intranet client's content may come from, before anything is known about the content."""

    local: tuple[str, ...]  # DPs in the client's own boundary groups
    neighbors: tuple[str, ...]  # DPs in neighbour groups: only when no local DP has the content
    prefer_cloud: bool
    peer_sites: tuple[str, ...] = ()  # AD sites whose peer cache sources the client may use (its groups')


class BoundaryGroups:
    def __init__(self) -> None:
        self.groups: dict[str, BoundaryGroup] = {}

    def define(self, group: BoundaryGroup, known_dps: set[str]) -> None:
        unknown = sorted(set(group.distribution_points) - known_dps)
        if unknown:
            raise ValueError(f"boundary group {group.name!r} names unknown distribution point(s) {', '.join(unknown)}; "
                             f"this site has {', '.join(sorted(known_dps))}")
        missing = sorted(set(group.neighbors) - set(self.groups) - {group.name})
        if missing:
            raise ValueError(f"boundary group {group.name!r} falls back to undefined group(s) {', '.join(missing)}")
        self.groups[group.name] = group

    def plan(self, ad_site: str, site_server_dp: str) -> Plan:
        """With no boundary groups defined, the site server's DP is every intranet client's local DP, and the
        peers of its own AD site are its peers ([INFERENCE] the default site boundary group, which allows peer
        downloads)."""
        if not self.groups:
            return Plan(local=(site_server_dp,), neighbors=(), prefer_cloud=False, peer_sites=(ad_site,))
        mine = [g for g in self.groups.values() if ad_site in g.boundaries]
        local = _unique(dp for g in mine for dp in g.distribution_points)
        neighbors = _unique(dp for g in mine for n in g.neighbors for dp in self.groups[n].distribution_points
                            if dp not in local)
        # Peers share only within their current boundary group: never with a neighbour group's clients.
        peer_sites = _unique(site for g in mine if g.peer_downloads for site in g.boundaries)
        return Plan(local=local, neighbors=neighbors, prefer_cloud=any(g.prefer_cloud for g in mine),
                    peer_sites=peer_sites)

    def clear(self) -> None:
        self.groups.clear()

    def snapshot(self) -> dict[str, object]:
        return {g.name: {"boundaries": list(g.boundaries), "distribution_points": list(g.distribution_points),
                         "neighbors": list(g.neighbors), "prefer_cloud": g.prefer_cloud,
                         "peer_downloads": g.peer_downloads}
                for g in self.groups.values()}


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))

"""The capability matrix for internet task sequences by site version (B-01, B-02, B-04 to B-08, B-18, B-19).

One table is the source of truth: SiteVersion's predicates read it, `cmg-harness matrix` prints it,
and the scenarios exercise its cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# The columns of the published matrix; 2107 stands for "2107 and later".
MATRIX_VERSIONS = (1802, 1806, 1810, 1902, 1906, 1910, 2002, 2006, 2010, 2107)


class Capability(Enum):
    IPU_VIA_CMG = "In-place upgrade task sequence via CMG (download all content first)"
    CONTENT_ENABLED_CMG = "Content-enabled CMG (serve content from Azure storage)"
    TS_BOUNDARY_GROUP_FALLBACK = "Task sequence honours boundary-group fallback"
    PREFER_CLOUD_SOURCES = "Boundary-group option to prefer cloud sources"
    ON_DEMAND_FROM_CLOUD = "Task sequence engine downloads on demand from CMG or cloud DP"
    SITE_ISSUED_TOKENS = "Site-issued token authentication"
    BOOT_IMAGE_TS_FROM_SOFTWARE_CENTER = "Task sequence with a boot image started from Software Center via CMG"
    BOOT_MEDIA_VIA_CMG = "Boot media via CMG"
    NEW_CLASSIC_CLOUD_DP = "Create a new traditional cloud distribution point"


@dataclass(frozen=True)
class Row:
    capability: Capability
    since: int
    until: int | None  # last release that has it, None = still there
    sources: str

    def supported(self, release: int) -> bool:
        return release >= self.since and (self.until is None or release <= self.until)


MATRIX = (
    Row(Capability.IPU_VIA_CMG, 1802, None, "B-01"),
    Row(Capability.CONTENT_ENABLED_CMG, 1806, None, "B-02"),
    Row(Capability.TS_BOUNDARY_GROUP_FALLBACK, 1810, None, "B-18"),
    Row(Capability.PREFER_CLOUD_SOURCES, 1810, None, "B-19"),
    Row(Capability.ON_DEMAND_FROM_CLOUD, 1910, None, "B-04"),
    Row(Capability.SITE_ISSUED_TOKENS, 2002, None, "B-06"),
    Row(Capability.BOOT_IMAGE_TS_FROM_SOFTWARE_CENTER, 2006, None, "B-07"),
    Row(Capability.BOOT_MEDIA_VIA_CMG, 2010, None, "B-08"),
    Row(Capability.NEW_CLASSIC_CLOUD_DP, 0, 2106, "B-05"),
)
_ROWS = {row.capability: row for row in MATRIX}


def supported(capability: Capability, release: int) -> bool:
    return _ROWS[capability].supported(release)


def as_json() -> dict[str, object]:
    return {"versions": [str(v) if v != MATRIX_VERSIONS[-1] else f"{v}+" for v in MATRIX_VERSIONS],
            "capabilities": [{"capability": row.capability.value, "key": row.capability.name.lower(),
                              "since": row.since or None, "until": row.until, "sources": row.sources.split(),
                              "cells": {str(v): row.supported(v) for v in MATRIX_VERSIONS}}
                             for row in MATRIX]}


def as_table() -> str:
    width = max(len(c.value) for c in Capability)
    header = f"{'capability':<{width}}  " + "  ".join(f"{v}{'+' if v == MATRIX_VERSIONS[-1] else ' '}"
                                                      for v in MATRIX_VERSIONS)
    lines = [header, "-" * len(header)]
    for row in MATRIX:
        cells = "  ".join(f"{'yes' if row.supported(v) else ' - ':^5}" for v in MATRIX_VERSIONS)
        lines.append(f"{row.capability.value:<{width}}  {cells}")
    return "\n".join(lines)

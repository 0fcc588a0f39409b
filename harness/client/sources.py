"""Which content sources a client may use, and in which order it tries them (B-16, B-17, B-19, B-20)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from urllib.parse import urlsplit

from harness.protocol.location import LocationRecord

CLOUD = "CLOUD"  # [INFERENCE] the harness's DPType for cloud sources
INTERNET = "INTERNET"  # [INFERENCE] the harness's Locality for sources an internet client can reach


def source_name(record: LocationRecord) -> str:
    return urlsplit(record.url).hostname or record.server_remote_name.lower()


def intranet_only(record: LocationRecord) -> bool:
    """An on-premises DP record; [INFERENCE] an internet-facing DP's would say INTERNET (none is emulated)."""
    return record.dp_type != CLOUD and record.locality != INTERNET


def try_order(records: Sequence[LocationRecord], *, on_internet: bool,
              chooser: random.Random) -> tuple[LocationRecord, ...]:
    """The order a client tries a reply's records in.

    The management point ranks them (B-17, B-19): on-premises DPs first, cloud sources last, or first when a
    boundary group prefers them. The client keeps that ranking and draws the order of the cloud sources among
    themselves: clients "randomly select a cloud distribution point" (B-20). An internet client drops
    intranet-only records: it cannot reach an on-premises DP (B-16).
    """
    usable = [r for r in records if not (on_internet and intranet_only(r))]
    cloud = [r for r in usable if r.dp_type == CLOUD]
    chooser.shuffle(cloud)
    drawn = iter(cloud)
    return tuple(next(drawn) if r.dp_type == CLOUD else r for r in usable)

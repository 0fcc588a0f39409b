"""What a fleet's runs add up to, for the report: the percentiles table, and the pictures' data.

The table says, for the clients of each kind and for all: how many, how many failed, and the 50th, 90th, 95th
and 99th percentiles of the time from a client's start to its upgrade step, and of its time at the CMG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.model.fleet import ClientOutcome, concurrent, cumulative, percentile
from harness.reporting.fleet_svg import Line, histogram, lines_chart

PERCENTS = (50, 90, 95, 99)


def percentiles_table(outcomes: Sequence[ClientOutcome]) -> str:
    kinds = sorted({o.kind for o in outcomes})
    rows = [("all clients", list(outcomes))] + ([(k.describe(), [o for o in outcomes if o.kind == k]) for k in kinds]
                                                if len(kinds) > 1 else [])
    head = f"{'clients':<16} {'count':>7} {'failed':>7}  " + "  ".join(f"{'p' + str(p) + ' upgrade':>12}"
                                                                       for p in PERCENTS) + \
        "  " + "  ".join(f"{'p' + str(p) + ' CMG':>9}" for p in PERCENTS)
    lines = [head, "(model seconds from each client's start to its upgrade step; its time at the CMG)"]
    for label, group in rows:
        started = [o.upgrade_after_s for o in group if o.upgrade_after_s is not None]
        upgrade = "  ".join(f"{percentile(started, p):>12.0f}" if started else f"{'-':>12}" for p in PERCENTS)
        cmg = "  ".join(f"{percentile([o.cmg_wait_s for o in group], p):>9.0f}" for p in PERCENTS)
        failed = sum(1 for o in group if o.error)
        lines.append(f"{label:<16} {len(group):>7} {failed:>7}  {upgrade}  {cmg}")
    return "\n".join(lines)


def pictures(outcomes: Sequence[ClientOutcome], deployment: Mapping[str, Any]) -> dict[str, str]:
    """The fleet's pictures by name: clients and downloads at once, the CMG's egress, when clients finished."""
    ended = [o for o in outcomes if o.end_s is not None]
    clients = concurrent((o.start_s, o.end_s or o.start_s) for o in ended)
    downloads = concurrent((o.content_s, o.end_s or o.content_s) for o in ended if o.content_s is not None)
    capacity = int(deployment.get("capacity", 0))
    egress = deployment.get("egress", {})
    sent = cumulative((o.end_s or 0.0, o.downloaded_bytes / 1e9) for o in ended)
    return {
        "fleet: clients and downloads": lines_chart(
            "Clients under way and downloads under way", [Line("clients", clients), Line("downloads", downloads)],
            "clients", limit=(f"the CMG's places ({deployment.get('vms')} × {deployment.get('vm_size')})", capacity)),
        "fleet: CMG outbound data": lines_chart(
            "The CMG's outbound data (content to clients)", [Line("sent, GB", sent)], "GB (model)",
            limit=("critical threshold (90 %)", float(egress.get("critical_bytes", 0)) / 1e9)),
        "fleet: upgrade step started": histogram(
            "When each client started its upgrade step (from its own start)",
            [o.upgrade_after_s for o in outcomes if o.upgrade_after_s is not None]),
    }

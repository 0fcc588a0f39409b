"""How a fleet's wall time grows with its clients: the documented test's shape (a 100-MB file, 20 waves over 24
hours, each spread over an hour, one Standard VM) at 1,000, 5,000, 20,000 and 50,000 clients, in one run.

    .venv/bin/python benchmarks/fleet.py [--clients 1000 5000 20000 50000] [--repeats 1]

One local environment on the virtual clock; each fleet runs after a reset, so every one starts at the model epoch
with a fresh CMG. Reports each size's wall time, its wall time per 1,000 clients, the model time its last client
needed (it must be within 24 hours), and how many requests the services answered for it (cohorts carry many
clients in one request: that is what keeps the wall time from growing with the clients).

Prints a table for people and, as its last line, one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.drivers.cmg import CmgDriver  # noqa: E402  (after the path: run as a script from anywhere)
from harness.drivers.fleet import FleetDriver  # noqa: E402
from harness.drivers.site import SiteDriver  # noqa: E402
from harness.environments.local import LocalEnvironment  # noqa: E402

PACKAGE, TASK_SEQUENCE, DEPLOYMENT = "PS100021", "PS100020", "PS120020"
DAY_S = 24 * 3600


def prepare(site: SiteDriver) -> None:
    site.set_version(2107)
    site.define_package(PACKAGE, "Feature update (100 MB)", "100 MB", kind="OS upgrade package")
    site.distribute(PACKAGE, "cmg")
    site.define_task_sequence(TASK_SEQUENCE, "Upgrade", [{"name": "Upgrade Operating System",
                                                          "action": "Upgrade Operating System", "package": PACKAGE}])
    site.deploy(DEPLOYMENT, TASK_SEQUENCE, option="Download content locally when needed by the running task sequence")


def one(env: LocalEnvironment, clients: int) -> dict[str, Any]:
    env.reset()
    site = SiteDriver(env.http, env.endpoints["mp"].control_base)
    cmg = CmgDriver(env.http, env.endpoints["cmg"].control_base)
    prepare(site)
    cmg.set_deployment(vms=1)
    fleets = FleetDriver(env.http, env.endpoints["client"].control_base)
    body = {"name": "BENCH", "clients": clients, "waves": {"size": -(-clients // 20), "every_s": 4320,
                                                          "spread_s": 3600},
            "packages": [{"id": PACKAGE, "version": 1}]}
    started = time.perf_counter()
    fleets.start(body)
    result = fleets.wait("BENCH", 900)
    wall = time.perf_counter() - started
    deployment = cmg.deployment()
    last = max((o.step_start_s or float("inf")) for o in result.outcomes)
    return {"clients": clients, "wall_s": round(wall, 2), "wall_s_per_1000": round(wall / clients * 1000, 3),
            "failed": len(result.failed), "last_upgrade_h": round(last / 3600, 2), "within_24h": last <= DAY_S,
            "cmg_clients_counted": deployment["requests"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 5000, 20000, 50000])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    rows = []
    with LocalEnvironment(clock_mode="virtual") as env:
        for clients in args.clients:
            runs = [one(env, clients) for _ in range(args.repeats)]
            row = dict(runs[0])
            row["wall_s"] = round(statistics.median(r["wall_s"] for r in runs), 2)
            row["wall_s_per_1000"] = round(row["wall_s"] / clients * 1000, 3)
            rows.append(row)
            print(f"{clients} clients: {row['wall_s']} s", file=sys.stderr, flush=True)
    print(f"{'clients':>8} {'wall s':>8} {'s/1000':>8} {'failed':>7} {'last upgrade':>13} {'in 24 h':>8}")
    for row in rows:
        print(f"{row['clients']:>8} {row['wall_s']:>8.2f} {row['wall_s_per_1000']:>8.3f} {row['failed']:>7} "
              f"{row['last_upgrade_h']:>11.2f} h {'yes' if row['within_24h'] else 'NO':>8}")
    largest = rows[-1]
    print(f"{largest['clients']} clients in {largest['wall_s']} s of wall time "
          f"({'within' if largest['wall_s'] <= 300 else 'over'} the 5-minute goal)")
    print(json.dumps({"benchmark": "fleet", "repeats": args.repeats, "rows": rows}))


if __name__ == "__main__":
    main()

"""What `cmg-harness load` drives on this machine, beside Locust's own minimal HTTP user against the same service,
side by side in one run.

    .venv/bin/python benchmarks/load.py [--users 50] [--seconds 20] [--repeats 2] [--processes 0] [--env local]

Starts one environment and gets it ready once, then runs Locust in turns (emulated clients, minimal user,
emulated clients, …), each for the same time with the same number of users: the emulated clients' requests
and client flows a second, and the minimal user's requests a second (`/_harness/health` on the CMG, through the
same proxy and TLS). The ratio says how much of what Locust alone can drive the harness's clients drive: the
cost of a real client flow (signing, policy, location, content) over a bare GET.

Prints a table for people and, as its last line, one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.environments import select  # noqa: E402  (after the path: run as a script from anywhere)
from harness.load.prepare import prepare  # noqa: E402
from harness.load.runner import LoadResult, run_locust  # noqa: E402


def figures(result: LoadResult) -> dict[str, Any]:
    flows = result.flows
    return {"requests_per_s": round(result.requests_per_second, 1), "failure_ratio": round(result.failure_ratio, 4),
            "flows_per_s": round(flows.per_second, 2) if flows else None,
            "p95_ms": max((row.percentiles.get("95%", 0.0) for row in result.requests), default=0.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--processes", type=int, default=0, help="Locust worker processes (0: one process)")
    parser.add_argument("--env", default="local")
    args = parser.parse_args()
    env = select.create(select.parse_spec(args.env))
    env.up()
    runs: dict[str, list[dict[str, Any]]] = {"clients": [], "minimal": []}
    try:
        target = prepare(env, clients=args.users)
        with tempfile.TemporaryDirectory() as tmp:
            path = target.save(Path(tmp) / "target.json")
            for repeat in range(args.repeats):
                for user in runs:
                    print(f"{user}: {args.users} users for {args.seconds} s (repeat {repeat + 1}) ...",
                          file=sys.stderr, flush=True)
                    result = run_locust(path, Path(tmp) / f"{user}-{repeat}", users=args.users,
                                        spawn_rate=args.users, seconds=args.seconds, user=user,
                                        processes=args.processes)
                    runs[user].append(figures(result))
    finally:
        env.down()
    clients = statistics.median(r["requests_per_s"] for r in runs["clients"])
    minimal = statistics.median(r["requests_per_s"] for r in runs["minimal"])
    flows = statistics.median(r["flows_per_s"] or 0.0 for r in runs["clients"])
    ratio = clients / minimal if minimal else 0.0
    print(f"{'user':<8} {'requests/s':>10} {'flows/s':>8} {'failed':>7} {'p95 ms':>7}  (median of {args.repeats})")
    for user, results in runs.items():
        rps = statistics.median(r["requests_per_s"] for r in results)
        flow = statistics.median(r["flows_per_s"] or 0.0 for r in results) if user == "clients" else None
        failed = max(r["failure_ratio"] for r in results)
        p95 = statistics.median(r["p95_ms"] for r in results)
        shown = f"{flow:.1f}" if flow is not None else "-"
        print(f"{user:<8} {rps:>10.1f} {shown:>8} {failed:>7.2%} {p95:>7.0f}")
    print(f"emulated clients drive {ratio:.2f}× the requests a second of Locust's minimal user "
          f"({flows:.1f} client flows a second, {args.users} users, {os.cpu_count()} CPUs)")
    print(json.dumps({"benchmark": "load", "cpus": os.cpu_count(), "users": args.users, "seconds": args.seconds,
                      "repeats": args.repeats, "processes": args.processes, "runs": runs,
                      "clients_requests_per_s": clients, "minimal_requests_per_s": minimal,
                      "clients_flows_per_s": flows, "ratio": round(ratio, 3)}))


if __name__ == "__main__":
    main()

"""The spread of measured model timings over repeated runs, idle and with both cores busy, against the tolerance.

    .venv/bin/python benchmarks/timing.py [--repeats 20] [--scale 250] [--no-load]

Repeats the on-demand run of features/download_timing.feature (storage sending at most 100 Mbit/s, a 3.2 GB
upgrade package, then a 600 MB one) and compares each timing the scenario asserts with what the model says
it should be. Errors are printed in model seconds, in real milliseconds (the part scheduling noise causes)
and relative to the expected figure; the last column says whether every repetition fell inside the tolerance
of harness/model/timing.py. "Loaded" runs the same while two busy-loop processes keep both cores busy (they
stop by themselves when the benchmark ends, and after 10 minutes in any case).

Prints a table for people and, as its last line, one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from busy import busy_cores  # noqa: E402  (benchmarks/ is on sys.path when this runs as a script)

from harness.drivers.agent import AgentDriver  # noqa: E402
from harness.drivers.network import NetworkDriver  # noqa: E402
from harness.drivers.run import RunResult  # noqa: E402
from harness.drivers.site import SiteDriver  # noqa: E402
from harness.environments.local import LocalEnvironment  # noqa: E402
from harness.model.timing import Tolerance  # noqa: E402
from harness.model.units import Scale  # noqa: E402

TS, OS, DRIVERS, DEPLOYMENT = "PS100210", "PS100211", "PS100212", "PS120210"
ON_DEMAND = "Download content locally when needed by the running task sequence"
# What the model says (features/download_timing.feature): 3.2 GB and 600 MB at 100 Mbit/s are 256 s and 48 s.
EXPECTED = {"first step start": 0.0, "download of PS100211": 256.0, "Upgrade Operating System start": 120.0,
            "Apply drivers start": 976.0, "task sequence": 1084.0}
LOAD_LIMIT_S = 600


def prepare(env: LocalEnvironment) -> tuple[SiteDriver, AgentDriver]:
    endpoints = env.endpoints
    site = SiteDriver(env.http, endpoints["mp"].control_base)
    agent = AgentDriver(env.http, endpoints["client"].control_base)
    site.set_version(2010)
    site.define_package(OS, "Windows 11 upgrade media", "3.2 GB", kind="OS upgrade package")
    site.define_package(DRIVERS, "Surface drivers", "600 MB", kind="Driver package")
    site.distribute(OS, "cmg")
    site.distribute(DRIVERS, "cmg")
    site.define_task_sequence(TS, "Upgrade", [
        {"name": "Check Readiness", "action": "Check Readiness", "duration": "2 minutes"},
        {"name": "Upgrade Operating System", "action": "Upgrade Operating System", "package": OS,
         "duration": "10 minutes"},
        {"name": "Apply drivers", "action": "Run Command Line", "package": DRIVERS, "duration": "1 minute"}])
    site.deploy(DEPLOYMENT, TS, option=ON_DEMAND)
    NetworkDriver(env.http, endpoints["network"].control_base, Scale(endpoints.scale)).link("storage",
                                                                                           mbit_per_s=100)
    return site, agent


def measure(run: RunResult) -> dict[str, float]:
    def t(kind: str, **match: str) -> float:
        return float(run.first(kind, **match)["t"])
    start = t("ts.start")
    end = next(e for e in run.events("download.end", package=OS) if e["result"] == "succeeded")
    began = max(e["t"] for e in run.events("download.start", package=OS) if e["t"] <= end["t"])
    return {"first step start": t("step.start") - start, "download of PS100211": end["t"] - began,
            "Upgrade Operating System start": t("step.start", step="Upgrade Operating System") - start,
            "Apply drivers start": t("step.start", step="Apply drivers") - start,
            "task sequence": t("ts.end") - start}


def repetitions(env: LocalEnvironment, agent: AgentDriver, repeats: int, label: str) -> list[dict[str, float]]:
    samples = []
    for number in range(repeats):
        client = f"{label.upper()}{number:03d}"
        agent.create_client(client, network="internet")
        run = agent.wait(client, agent.install(client, DEPLOYMENT), timeout=120)
        if run.status != "succeeded":
            raise SystemExit(f"{client}: the run {run.status}: {run.reason}")
        samples.append(measure(run))
        print(f"  {label} {number + 1}/{repeats}", file=sys.stderr)
    return samples


def spread(samples: list[dict[str, float]], scale: Scale, tolerance: Tolerance) -> list[dict[str, Any]]:
    rows = []
    for name, expected in EXPECTED.items():
        errors = [s[name] - expected for s in samples]
        worst = max(errors, key=abs)
        allowed = tolerance.allowed(expected, scale)
        rows.append({"timing": name, "expected_model_s": expected,
                     "median_error_model_s": round(statistics.median(errors), 2),
                     "worst_error_model_s": round(worst, 2),
                     "worst_error_real_ms": round(scale.real_seconds(abs(worst)) * 1e3, 1),
                     "worst_relative_pct": round(100 * abs(worst) / expected, 2) if expected else None,
                     "tolerance_model_s": round(allowed, 1),
                     "all_inside": all(abs(e) <= allowed for e in errors)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--scale", type=float, default=250)
    parser.add_argument("--no-load", action="store_true", help="skip the runs with both cores busy")
    args = parser.parse_args()
    tolerance, scale = Tolerance(), Scale(args.scale)
    results: dict[str, list[dict[str, Any]]] = {}
    with LocalEnvironment(scale=args.scale) as env:
        _, agent = prepare(env)
        results["idle"] = spread(repetitions(env, agent, args.repeats, "idle"), scale, tolerance)
        if not args.no_load:
            with busy_cores(limit_s=LOAD_LIMIT_S):
                results["loaded"] = spread(repetitions(env, agent, args.repeats, "loaded"), scale, tolerance)
    print(f"Model timings over {args.repeats} repetitions at scale {args.scale:g} "
          f"(tolerance: {tolerance.relative:.0%} + {tolerance.real_seconds * 1e3:.0f} ms real)")
    print(f"{'condition':<8} {'timing':<32} {'expected':>9} {'median err':>11} {'worst err':>10} "
          f"{'worst real':>11} {'worst rel':>10} {'tolerance':>10}  inside")
    for condition, rows in results.items():
        for row in rows:
            relative = "-" if row["worst_relative_pct"] is None else f"{row['worst_relative_pct']:.2f} %"
            print(f"{condition:<8} {row['timing']:<32} {row['expected_model_s']:>8.0f}s "
                  f"{row['median_error_model_s']:>10.2f}s {row['worst_error_model_s']:>9.2f}s "
                  f"{row['worst_error_real_ms']:>8.1f} ms {relative:>10} {row['tolerance_model_s']:>9.1f}s  "
                  f"{'yes' if row['all_inside'] else 'NO'}")
    print(json.dumps({"benchmark": "timing", "repeats": args.repeats, "scale": args.scale,
                      "tolerance": {"relative": tolerance.relative, "real_seconds": tolerance.real_seconds},
                      "results": results,
                      "all_inside": all(r["all_inside"] for rows in results.values() for r in rows)}))


if __name__ == "__main__":
    main()

"""The spread of measured model timings over repeated runs on the virtual and the real clock, side by side, idle
and with both cores busy, against each clock's tolerance.

    .venv/bin/python benchmarks/timing.py [--repeats 20] [--scale 250] [--clock both|virtual|real] [--no-load]

Repeats the on-demand run of features/download_timing.feature (storage sending at most 100 Mbit/s, a 3.2 GB
upgrade package, then a 600 MB one) and compares each timing the scenario asserts with what the model says
it should be. Errors are printed in model seconds, in real milliseconds (the part scheduling noise causes on
the real clock) and relative to the expected figure; the last column says whether every repetition fell
inside the clock's tolerance (harness/model/timing.py: the measured real-clock tolerance, or the virtual
clock's rounding). Each clock gets an environment of its own, and the conditions alternate clock by clock, so
both see the same machine. Also printed: the median wall time of one run on each clock. "Loaded" runs the same
while two busy-loop processes keep both cores busy (they stop by themselves when the benchmark ends, and after
10 minutes in any case).

Prints a table for people and, as its last line, one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from busy import busy_cores  # noqa: E402  (benchmarks/ is on sys.path when this runs as a script)

from harness.clock.model_clock import CLOCK_MODES  # noqa: E402
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
    NetworkDriver(env.http, endpoints["network"].control_base, endpoints.scale).link("storage",
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


def repetitions(agent: AgentDriver, repeats: int, label: str) -> tuple[list[dict[str, float]], list[float]]:
    """The timings of `repeats` runs, and each run's wall time in seconds."""
    samples, walls = [], []
    for number in range(repeats):
        client = f"{label.upper().replace('-', '')}{number:03d}"
        agent.create_client(client, network="internet")
        started = time.perf_counter()
        run = agent.wait(client, agent.install(client, DEPLOYMENT), timeout=120)
        walls.append(time.perf_counter() - started)
        if run.status != "succeeded":
            raise SystemExit(f"{client}: the run {run.status}: {run.reason}")
        samples.append(measure(run))
        print(f"  {label} {number + 1}/{repeats}", file=sys.stderr)
    return samples, walls


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
    parser.add_argument("--clock", choices=["both", *CLOCK_MODES], default="both")
    parser.add_argument("--no-load", action="store_true", help="skip the runs with both cores busy")
    args = parser.parse_args()
    scale = Scale(args.scale)
    clocks = list(CLOCK_MODES) if args.clock == "both" else [args.clock]
    conditions = ["idle"] + ([] if args.no_load else ["loaded"])
    results: dict[str, dict[str, list[dict[str, Any]]]] = {clock: {} for clock in clocks}
    walls: dict[str, dict[str, float]] = {clock: {} for clock in clocks}
    with contextlib.ExitStack() as stack:
        agents = {}
        for clock in clocks:
            env = stack.enter_context(LocalEnvironment(scale=args.scale, clock_mode=clock))
            agents[clock] = prepare(env)[1]
        for condition in conditions:
            with busy_cores(limit_s=LOAD_LIMIT_S) if condition == "loaded" else contextlib.nullcontext():
                for clock in clocks:
                    samples, wall = repetitions(agents[clock], args.repeats, f"{condition}-{clock}")
                    results[clock][condition] = spread(samples, scale, Tolerance.for_clock(clock))
                    walls[clock][condition] = round(statistics.median(wall), 3)
    print(f"Model timings over {args.repeats} repetitions at scale {args.scale:g}")
    print(f"{'clock':<8} {'load':<7} {'timing':<32} {'expected':>9} {'median err':>11} {'worst err':>10} "
          f"{'worst real':>11} {'worst rel':>10} {'tolerance':>10}  inside")
    for clock, by_condition in results.items():
        for condition, rows in by_condition.items():
            for row in rows:
                relative = "-" if row["worst_relative_pct"] is None else f"{row['worst_relative_pct']:.2f} %"
                print(f"{clock:<8} {condition:<7} {row['timing']:<32} {row['expected_model_s']:>8.0f}s "
                      f"{row['median_error_model_s']:>10.2f}s {row['worst_error_model_s']:>9.2f}s "
                      f"{row['worst_error_real_ms']:>8.1f} ms {relative:>10} {row['tolerance_model_s']:>9.1f}s  "
                      f"{'yes' if row['all_inside'] else 'NO'}")
    runs = [f"{clock} {condition} {seconds:.2f} s" for clock, by in walls.items() for condition, seconds in by.items()]
    print("median wall time of one run: " + ", ".join(runs))
    figures: dict[str, Any] = {"benchmark": "timing", "repeats": args.repeats, "scale": args.scale,
                               "tolerance": {clock: dataclasses.asdict(Tolerance.for_clock(clock)) for clock in clocks},
                               "results": results, "run_wall_s": walls,
                               "all_inside": all(r["all_inside"] for by in results.values() for rows in by.values()
                                                 for r in rows)}
    if len(clocks) == 2:
        figures["real_over_virtual_run_wall"] = {c: round(walls["real"][c] / walls["virtual"][c], 2)
                                                 for c in conditions}
        print("real / virtual wall time of one run: " + ", ".join(
            f"{c} {ratio}" for c, ratio in figures["real_over_virtual_run_wall"].items()))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

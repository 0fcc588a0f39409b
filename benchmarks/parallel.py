"""The acceptance suite serially and with pytest-xdist workers, side by side in one run: what `-n` is worth on
this machine, and which worker count `cmg-harness run` should use by default.

    .venv/bin/python benchmarks/parallel.py [--workers 0 2 3 4] [--repeats 2] [-- pytest args]

Runs `pytest features` once per worker count per repeat, in turns (0, 2, 3, 4, 0, 2, ...), so every count sees
the same machine; 0 is one process. Each worker starts its own environment, so the figures include that cost.
Reports each count's median wall time, its speed-up over the serial run and how many scenarios passed.

Prints a table for people and, as its last line, one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[1]


def suite(workers: int, extra: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        parallel = ["-n", str(workers)] if workers else ["-p", "no:xdist"]
        command = [sys.executable, "-m", "pytest", "features", "-q", "-p", "no:cacheprovider", "--junitxml",
                   str(junit), *parallel, *extra]
        print(f"running the suite with {workers or 'no'} workers ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        code = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, check=False).returncode
        wall = time.perf_counter() - started
        cases = list(ElementTree.parse(junit).getroot().iter("testcase"))
    passed = sum(not any(child.tag in ("failure", "error", "skipped") for child in case) for case in cases)
    return {"wall_s": wall, "scenarios": len(cases), "passed": passed, "exit_code": code}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2, 3, 4])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest")
    args = parser.parse_args()
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in args.workers}
    for _ in range(args.repeats):
        for workers in args.workers:
            runs[workers].append(suite(workers, args.pytest_args))
    serial = statistics.median(r["wall_s"] for r in runs[args.workers[0]])
    rows = []
    for workers, results in runs.items():
        wall = statistics.median(r["wall_s"] for r in results)
        rows.append({"workers": workers, "wall_s": round(wall, 2), "speedup": round(serial / wall, 2),
                     "walls_s": [round(r["wall_s"], 2) for r in results],
                     "passed": min(r["passed"] for r in results), "scenarios": max(r["scenarios"] for r in results),
                     "all_passed": all(r["exit_code"] == 0 for r in results)})
    fastest = min(rows, key=lambda row: row["wall_s"])
    print(f"{'workers':>7} {'median wall s':>13} {'vs serial':>9} {'passed':>11}  runs (s)")
    for row in rows:
        print(f"{row['workers'] or 'serial':>7} {row['wall_s']:>13.2f} {row['speedup']:>8.2f}× "
              f"{row['passed']:>5}/{row['scenarios']:<5}  {row['walls_s']}")
    print(f"fastest on {os.cpu_count()} CPUs: {fastest['workers'] or 'serial'} ({fastest['speedup']:.2f}× serial)")
    print(json.dumps({"benchmark": "parallel", "cpus": os.cpu_count(), "repeats": args.repeats, "rows": rows,
                      "fastest_workers": fastest["workers"]}))


if __name__ == "__main__":
    main()

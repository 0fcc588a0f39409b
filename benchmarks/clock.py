"""The acceptance suite on the virtual clock beside the real clock, measured side by side in one run.

    .venv/bin/python benchmarks/clock.py [--repeats 1] [--jobs 2] [-- pytest args]

Runs `pytest features` once per clock per repeat, alternating (virtual, real, virtual, real, ...), so both see
the same machine. Reports each clock's wall time for the whole suite (environment start-up included), the
median and slowest scenario, and how many passed; then the ratio real / virtual. `--jobs N` runs N pytest-xdist
workers (0: one process).

Prints a table for people and, as its last line, one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[1]
CLOCKS = ("virtual", "real")


def suite(clock: str, jobs: int, extra: list[str]) -> dict[str, Any]:
    """One run of the acceptance suite on `clock`: wall time, and each scenario's time from the JUnit report
    (which pytest-xdist workers fill in too)."""
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        parallel = ["-n", str(jobs)] if jobs else []
        command = [sys.executable, "-m", "pytest", "features", "-q", "-p", "no:cacheprovider", "--clock", clock,
                   "--junitxml", str(junit), *parallel, *extra]
        print(f"running the suite on the {clock} clock ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        code = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, check=False).returncode
        wall = time.perf_counter() - started
        cases = list(ElementTree.parse(junit).getroot().iter("testcase"))
        results = [(float(case.get("time", "0")), not any(child.tag in ("failure", "error", "skipped")
                                                          for child in case)) for case in cases]
        failed = [f"{case.get('classname')}::{case.get('name')}" for case in cases
                  if any(child.tag in ("failure", "error") for child in case)]
    for name in failed:  # a failure is a finding, not noise: say which
        print(f"FAILED on the {clock} clock: {name}", file=sys.stderr, flush=True)
    durations = [seconds for seconds, _ in results]
    return {"wall_s": wall, "scenarios": len(durations), "passed": sum(ok for _, ok in results), "exit_code": code,
            "scenario_median_s": statistics.median(durations), "scenario_max_s": max(durations), "failed": failed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="pytest-xdist workers (default 2: one per core)")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest")
    args = parser.parse_args()

    runs: dict[str, list[dict[str, Any]]] = {clock: [] for clock in CLOCKS}
    for _ in range(args.repeats):
        for clock in CLOCKS:
            runs[clock].append(suite(clock, args.jobs, args.pytest_args))
    figures: dict[str, Any] = {"jobs": args.jobs, "repeats": args.repeats}
    for clock, samples in runs.items():
        figures[clock] = {key: round(statistics.median(s[key] for s in samples), 3)
                          for key in ("wall_s", "scenario_median_s", "scenario_max_s")}
        figures[clock].update(scenarios=samples[0]["scenarios"], passed=min(s["passed"] for s in samples),
                              failed_runs=sum(s["exit_code"] != 0 for s in samples),
                              failed=sorted({name for s in samples for name in s["failed"]}))
    figures["speed_up_wall"] = round(figures["real"]["wall_s"] / figures["virtual"]["wall_s"], 2)
    figures["speed_up_scenario_median"] = round(figures["real"]["scenario_median_s"]
                                                / figures["virtual"]["scenario_median_s"], 2)

    print(f"{'':<22}{'virtual':>12}{'real':>12}")
    for key in ("wall_s", "scenario_median_s", "scenario_max_s", "scenarios", "passed", "failed_runs"):
        print(f"{key:<22}{figures['virtual'][key]!s:>12}{figures['real'][key]!s:>12}")
    print(f"{'real / virtual (wall)':<22}{figures['speed_up_wall']:>12}")
    print(f"{'real / virtual (median)':<22}{figures['speed_up_scenario_median']:>12}")
    for clock in CLOCKS:
        for name in figures[clock]["failed"]:
            print(f"failed on the {clock} clock: {name}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""The same suite run N times in a row, idle and while two busy-loop processes keep both cores busy.

    .venv/bin/python benchmarks/stability.py [--runs 10] [--load both|idle|loaded] [-- PYTEST ARGS]

Each run is a fresh `python -m pytest` process (default arguments: `features -q -p no:cacheprovider`), so each
starts its own environments, as CI does. Runs go on after a failure, so the count of failures is honest; the
failing tests of each run are listed as it ends, and its whole pytest output is kept in
reports/stability/<condition>-run-<N>.log (a failure seen once is worth reading). The busy loops stop by
themselves when the benchmark ends, and after LOAD_LIMIT_S in any case.

Prints a table for people and, as its last line, one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from busy import busy_cores  # benchmarks/ is on sys.path when this runs as a script

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PYTEST_ARGS = ["features", "-q", "-p", "no:cacheprovider"]
FAILED_RUN_LOGS = ROOT / "reports" / "stability"
LOAD_LIMIT_S = 3 * 3600
_SUMMARY = re.compile(r"=+ (.*) in [\d.]+s")


def one_run(pytest_args: list[str], log: Path) -> dict[str, Any]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    summary = _SUMMARY.findall(result.stdout)
    outcome = {"exit_code": result.returncode, "wall_s": round(time.perf_counter() - started, 1),
               "summary": summary[-1] if summary else result.stdout.strip().splitlines()[-1:],
               "failed": re.findall(r"^(?:FAILED|ERROR) (\S+)", result.stdout, re.MULTILINE)}
    if result.returncode != 0:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(result.stdout + result.stderr, encoding="utf-8")
        outcome["log"] = str(log.relative_to(ROOT))
    return outcome


def series(condition: str, runs: int, pytest_args: list[str]) -> list[dict[str, Any]]:
    results = []
    for number in range(runs):
        result = one_run(pytest_args, FAILED_RUN_LOGS / f"{condition}-run-{number + 1}.log")
        results.append(result)
        failing = f", failing: {' '.join(result['failed'])} (output: {result['log']})" if "log" in result else ""
        print(f"  {condition} run {number + 1}/{runs}: exit {result['exit_code']}, {result['wall_s']} s, "
              f"{result['summary']}{failing}", file=sys.stderr, flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--load", choices=["both", "idle", "loaded"], default="both")
    parser.add_argument("pytest_args", nargs="*", help="after --: arguments for pytest")
    args = parser.parse_args()
    pytest_args = args.pytest_args or DEFAULT_PYTEST_ARGS
    shutil.rmtree(FAILED_RUN_LOGS, ignore_errors=True)  # logs of an earlier series would read as this one's
    results: dict[str, list[dict[str, Any]]] = {}
    if args.load in ("both", "idle"):
        results["idle"] = series("idle", args.runs, pytest_args)
    if args.load in ("both", "loaded"):
        with busy_cores(limit_s=LOAD_LIMIT_S):
            results["loaded"] = series("loaded", args.runs, pytest_args)
    print(f"pytest {' '.join(pytest_args)}, {args.runs} runs per condition")
    print(f"{'condition':<10}{'passed runs':>12}{'median wall':>13}{'slowest':>10}  failing tests")
    figures = {}
    for condition, runs in results.items():
        passed = sum(1 for r in runs if r["exit_code"] == 0)
        walls = [r["wall_s"] for r in runs]
        failing = sorted({name for r in runs for name in r["failed"]})
        figures[condition] = {"runs": len(runs), "passed_runs": passed, "median_wall_s": statistics.median(walls),
                              "slowest_wall_s": max(walls), "failing_tests": failing, "each": runs}
        print(f"{condition:<10}{passed:>7}/{len(runs):<4}{statistics.median(walls):>12.1f}s{max(walls):>9.1f}s  "
              f"{', '.join(failing) or '-'}")
    print(json.dumps({"benchmark": "stability", "pytest_args": pytest_args, "results": figures,
                      "all_passed": all(f["passed_runs"] == f["runs"] for f in figures.values())}))


if __name__ == "__main__":
    main()

"""Environment start, per-scenario reset, and suite time per scenario, measured side by side in one run.

    .venv/bin/python benchmarks/environment.py [--repeats 3] [--resets 30] [--no-suite]

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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.environments.azurite import AzuriteProcess, find_azurite_blob, generate_account_key  # noqa: E402
from harness.environments.local import LocalEnvironment  # noqa: E402
from harness.net.tls import TestPKI  # noqa: E402


def azurite_alone() -> float:
    """Azurite's own start time: the floor the environment's start is compared with."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pki = TestPKI.create(work / "pki")
        cert = pki.issue_server_cert("storage", ["*.blob.core.example", "127.0.0.1"])
        (work / "az").mkdir()
        azurite = AzuriteProcess(executable=find_azurite_blob(ROOT), cert=cert,
                                 accounts={"benchaccount": generate_account_key()},
                                 log_path=work / "azurite.log", workdir=work / "az")
        started = time.perf_counter()
        try:
            azurite.start()
            return time.perf_counter() - started
        finally:
            azurite.stop()


def environment_start_and_resets(resets: int) -> tuple[float, list[dict[str, float]]]:
    env = LocalEnvironment()
    started = time.perf_counter()
    try:
        env.up()
        elapsed = time.perf_counter() - started
        samples = []
        for _ in range(resets):
            t0 = time.perf_counter()
            per_service = env.reset()
            samples.append({**per_service, "total": (time.perf_counter() - t0) * 1e3})
        return elapsed, samples
    finally:
        env.down()


def suite() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "features", "-q", "-p", "no:cacheprovider",
                        "--summary-json", str(summary)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        data = json.loads(summary.read_text())
    scenarios = data["scenarios"]
    durations = [s["duration_s"] for s in scenarios]
    return {"scenarios": len(scenarios), "suite_wall_s": wall, "wall_per_scenario_s": wall / len(scenarios),
            "scenario_median_s": statistics.median(durations), "scenario_max_s": max(durations),
            "passed": data["totals"]["passed"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--resets", type=int, default=30)
    parser.add_argument("--no-suite", action="store_true")
    args = parser.parse_args()

    azurite, starts, resets = [], [], []
    for _ in range(args.repeats):  # interleaved, so both see the same machine noise
        azurite.append(azurite_alone())
        start, samples = environment_start_and_resets(args.resets)
        starts.append(start)
        resets.extend(samples)
    totals = [r["total"] for r in resets]
    figures: dict[str, object] = {
        "azurite_start_s": round(statistics.median(azurite), 3),
        "environment_start_s": round(statistics.median(starts), 3),
        "start_ratio_to_azurite": round(statistics.median(starts) / statistics.median(azurite), 2),
        "reset_ms_median": round(statistics.median(totals), 2),
        "reset_ms_p95": round(sorted(totals)[int(0.95 * (len(totals) - 1))], 2),
        "reset_ms_median_by_service": {k: round(statistics.median(r[k] for r in resets), 2)
                                       for k in resets[0] if k != "total"},
        "repeats": args.repeats, "resets": len(resets),
    }
    if not args.no_suite:
        figures.update({k: round(v, 3) if isinstance(v, float) else v for k, v in suite().items()})

    print(f"{'figure':<34}{'value':>14}")
    for key, value in figures.items():
        if isinstance(value, dict):
            for sub, number in value.items():
                print(f"  {key}.{sub:<22}{number:>12}")
        else:
            print(f"{key:<34}{value!s:>14}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

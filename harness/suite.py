"""How the acceptance suite is cut up: workers on one machine (pytest-xdist), shards of equal stored duration
(pytest-split), and the command that refreshes the durations they are cut by.

`cmg-harness run` uses DEFAULT_WORKERS workers unless told otherwise (`-n N`, `-n 0` or `-p no:xdist` for one
process). Measured with benchmarks/parallel.py on 2 cores (the acceptance suite, medians of 2 runs side by side):
serial 35.4 s, 2 workers 29.8 s (1.19×), 3 workers 30.9 s, 4 workers 32.8 s. Each worker starts an environment of
its own, seven processes, so more workers than cores only add work.

A shard is `--shard I/N`: pytest-split's least-duration algorithm gives each of N groups about the same total of
the durations stored in `features/durations.json`, and runs group I. A scenario missing from the file counts
as the average of those present, so a new feature file shards sensibly before the next refresh. The file is
committed; `cmg-harness durations` refreshes it from one serial run (pytest-split cannot store durations from
xdist workers).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DURATIONS = PROJECT_ROOT / "features" / "durations.json"


DEFAULT_WORKERS = min(2, os.cpu_count() or 1)
_WORKER_OPTIONS = ("-n", "--numprocesses", "--dist", "-d")


def worker_arguments(pytest_args: list[str]) -> list[str]:
    """`-n DEFAULT_WORKERS`, unless `pytest_args` choose for themselves (or one worker is all there is)."""
    chosen = any(arg in _WORKER_OPTIONS or arg.startswith(("-n", "--numprocesses=")) for arg in pytest_args)
    plugins_off = any(a == "no:xdist" for a in pytest_args) or "-pno:xdist" in pytest_args
    return [] if chosen or plugins_off or DEFAULT_WORKERS < 2 else ["-n", str(DEFAULT_WORKERS)]


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` (1 ≤ I ≤ N) as (I, N); argparse shows the message of a bad one."""
    index, slash, count = text.partition("/")
    try:
        shard = (int(index), int(count)) if slash else None
    except ValueError:
        shard = None
    if shard is None or not 1 <= shard[0] <= shard[1]:
        raise argparse.ArgumentTypeError(f"{text!r}: expected I/N with 1 ≤ I ≤ N, e.g. 1/2")
    return shard


def shard_arguments(index: int, count: int, durations: Path = DURATIONS) -> list[str]:
    """pytest-split's arguments for shard `index` of `count`."""
    return ["--splits", str(count), "--group", str(index), "--splitting-algorithm", "least_duration",
            "--durations-path", str(durations)]


def store_durations(durations: Path = DURATIONS) -> int:
    """One serial run of the acceptance suite on the local environment, storing each scenario's duration."""
    command = [sys.executable, "-m", "pytest", "features", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
               "--store-durations", "--clean-durations", "--durations-path", str(durations)]
    print(f"running: {' '.join(command)}", file=sys.stderr)
    code = subprocess.call(command, cwd=PROJECT_ROOT)
    if code == 0:
        print(f"durations stored in {durations}: commit it", file=sys.stderr)
    return code

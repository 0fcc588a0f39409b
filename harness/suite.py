"""How the acceptance suite is cut up: shards of equal stored duration (pytest-split), and the command that
refreshes the durations they are cut by.

A shard is `--shard I/N`: pytest-split's least-duration algorithm gives each of N groups about the same total of
the durations stored in `features/durations.json`, and runs group I. A scenario missing from the file counts
as the average of those present, so a new feature file shards sensibly before the next refresh. The file is
committed; `cmg-harness durations` refreshes it from one serial run (pytest-split cannot store durations from
xdist workers).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DURATIONS = PROJECT_ROOT / "features" / "durations.json"


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

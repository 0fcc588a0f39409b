"""Runs Locust on a load target, bounded in users and time, and reads its statistics back.

Locust runs as its own process (`python -m locust`), headless, with the target file in CMG_HARNESS_LOAD_TARGET;
it writes its HTML report and CSV statistics into the output folder (reports/load/ by default). The figures come
back from `<name>.json`, which the locustfile writes once every user has stopped: Locust's CSV is written when the
run time is up, before the flows still going have ended, so a short load's CSV misses most of them. One row per
part of the client flow, one of type FLOW for whole flows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.load.target import STATS_ENV, TARGET_ENV

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
MAX_USERS = 10_000
MAX_SECONDS = 3600
FLOW = "FLOW"
USER_CLASSES = {"clients": "EmulatedClientUser", "minimal": "MinimalUser"}


class LoadError(RuntimeError):
    """The load could not run or left no statistics: the message says why."""


@dataclass(frozen=True)
class Row:
    """One line of Locust's statistics: a part of the flow (or FLOW, the whole)."""

    kind: str
    name: str
    requests: int
    failures: int
    per_second: float
    percentiles: dict[str, float]  # "50%" … "100%" -> milliseconds

    def percentile(self, percent: float) -> float:
        key = f"{percent:g}%"
        if key not in self.percentiles:
            raise LoadError(f"Locust reports no {key} percentile; it has {', '.join(self.percentiles)}")
        return self.percentiles[key]


@dataclass(frozen=True)
class LoadResult:
    rows: tuple[Row, ...]
    users: int
    seconds: float
    html: Path

    @property
    def requests(self) -> tuple[Row, ...]:
        return tuple(row for row in self.rows if row.kind != FLOW)

    @property
    def flows(self) -> Row | None:
        return next((row for row in self.rows if row.kind == FLOW), None)

    @property
    def request_count(self) -> int:
        return sum(row.requests for row in self.requests)

    @property
    def failure_ratio(self) -> float:
        count = self.request_count
        return sum(row.failures for row in self.requests) / count if count else 1.0

    @property
    def requests_per_second(self) -> float:
        return sum(row.per_second for row in self.requests)

    def row(self, name: str) -> Row:
        for row in self.rows:
            if row.name == name:
                return row
        raise LoadError(f"no {name!r} in the load's statistics; there are {', '.join(r.name for r in self.rows)}")


def run_locust(target_file: Path, output: Path, *, users: int, spawn_rate: float, seconds: int,
               user: str = "clients", processes: int = 0, name: str = "load",
               extra: list[str] | None = None) -> LoadResult:
    """Locust on `target_file` for `seconds` with `users` users of kind `user` (clients or minimal);
    `processes` > 1 forks Locust workers on this machine (its --processes)."""
    check_bounds(users, spawn_rate, seconds, user)
    output.mkdir(parents=True, exist_ok=True)
    prefix, html = output / name, output / f"{name}.html"
    for stale in output.glob(f"{name}_*.csv"):
        stale.unlink()
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(users),
               "-r", str(spawn_rate), "-t", f"{seconds}s", "--stop-timeout", "10", "--csv", str(prefix),
               "--html", str(html), "--only-summary", "--loglevel", "WARNING",
               *(["--processes", str(processes)] if processes > 1 else []), *(extra or []), USER_CLASSES[user]]
    figures = output / f"{name}.json"
    figures.unlink(missing_ok=True)
    env = {**os.environ, TARGET_ENV: str(target_file), STATS_ENV: str(figures)}
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 120, check=False)
    except subprocess.TimeoutExpired:
        raise LoadError(f"Locust did not stop within {seconds + 120} s of a {seconds} s load") from None
    if not figures.exists():
        raise LoadError(f"Locust left no statistics (exit code {done.returncode}):\n{done.stderr[-2000:]}")
    return LoadResult(read_figures(figures), users, float(seconds), html)


def check_bounds(users: int, spawn_rate: float, seconds: int, user: str) -> None:
    if not 1 <= users <= MAX_USERS:
        raise LoadError(f"{users} users: a load has 1 to {MAX_USERS}")
    if not 1 <= seconds <= MAX_SECONDS:
        raise LoadError(f"{seconds} s: a load lasts 1 to {MAX_SECONDS} s")
    if spawn_rate <= 0:
        raise LoadError(f"spawn rate {spawn_rate}: must be above 0 users a second")
    if user not in USER_CLASSES:
        raise LoadError(f"user {user!r}: one of {', '.join(USER_CLASSES)}")


def read_figures(path: Path) -> tuple[Row, ...]:
    """The rows the locustfile wrote when Locust quit."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return tuple(Row(str(r["kind"]), str(r["name"]), int(r["requests"]), int(r["failures"]),
                         float(r["per_second"]), {k: float(v) for k, v in r["percentiles"].items()}) for r in rows)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LoadError(f"{path}: not the load's figures ({error})") from None


def describe(result: LoadResult) -> str:
    """The figures for people: a line per part of the flow, then the totals."""
    lines = [f"{'type':<9} {'name':<22} {'requests':>8} {'failures':>8} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8}"]
    for row in result.rows:
        lines.append(f"{row.kind:<9} {row.name:<22} {row.requests:>8} {row.failures:>8} {row.per_second:>8.1f} "
                     f"{row.percentiles.get('50%', 0):>8.0f} {row.percentiles.get('95%', 0):>8.0f}")
    flows = result.flows
    lines.append(f"requests: {result.request_count} at {result.requests_per_second:.1f}/s, "
                 f"{result.failure_ratio:.2%} failed"
                 + (f"; client flows: {flows.requests} at {flows.per_second:.2f}/s" if flows else ""))
    return "\n".join(lines)

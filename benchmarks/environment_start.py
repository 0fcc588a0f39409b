"""Start time of the `local` and `containers` environments, side by side in one run, and what bounds the latter.

    .venv/bin/python benchmarks/environment_start.py [--repeats 5]

Starts each environment `--repeats` times, alternating (so drift on a noisy machine hits both alike), and
reports the median start of each and their ratio. For containers it also reports each container's time
from `docker run` to healthy: the start should be about the slowest single container (they start at once),
well under the sum of them all. The images must exist (`cmg-harness images build`); building them is not
part of the start.

Prints a table for people and, as its last line, one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.environments.containers import ContainersEnvironment  # noqa: E402
from harness.environments.local import LocalEnvironment  # noqa: E402


def start_local() -> dict[str, float]:
    env = LocalEnvironment()
    try:
        env.up()
        return {"start_s": env.timings["start_s"]}
    finally:
        env.down()


def start_containers() -> dict[str, float]:
    env = ContainersEnvironment()
    try:
        env.up()
        ready = {name[:-len("_ready_s")]: value for name, value in env.timings.items() if name.endswith("_ready_s")}
        return {"start_s": env.timings["start_s"], "images_s": env.timings.get("images_s", 0.0),
                "slowest_container_s": max(ready.values()), "sum_of_containers_s": sum(ready.values()),
                **{f"ready_{name}_s": value for name, value in ready.items()}}
    finally:
        down_started = time.perf_counter()
        env.down()
        sys.stderr.write(f"  containers down in {time.perf_counter() - down_started:.2f} s\n")


def medians(samples: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(s[key] for s in samples), 3) for key in samples[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    start_containers()  # warm-up: builds missing images and loads them into the page cache; not measured
    local: list[dict[str, float]] = []
    containers: list[dict[str, float]] = []
    for number in range(args.repeats):
        local.append(start_local())
        containers.append(start_containers())
        sys.stderr.write(f"  round {number + 1}/{args.repeats}: local {local[-1]['start_s']:.2f} s, "
                         f"containers {containers[-1]['start_s']:.2f} s\n")
    result: dict[str, Any] = {"repeats": args.repeats, "local": medians(local), "containers": medians(containers)}
    c = result["containers"]
    result["containers_vs_local"] = round(c["start_s"] / result["local"]["start_s"], 2)
    result["containers_start_vs_slowest_container"] = round(c["start_s"] / c["slowest_container_s"], 2)
    result["containers_start_vs_sum_of_containers"] = round(c["start_s"] / c["sum_of_containers_s"], 2)
    print_table(result)
    print(json.dumps(result))


def print_table(result: dict[str, Any]) -> None:
    local, c = result["local"], result["containers"]
    print(f"environment start, median of {result['repeats']} (seconds)")
    print(f"  local                         {local['start_s']:8.2f}")
    print(f"  containers                    {c['start_s']:8.2f}   ({result['containers_vs_local']}x local)")
    print(f"    slowest single container    {c['slowest_container_s']:8.2f}   "
          f"(start = {result['containers_start_vs_slowest_container']}x it)")
    print(f"    sum of all containers       {c['sum_of_containers_s']:8.2f}   "
          f"(start = {result['containers_start_vs_sum_of_containers']}x it)")
    for key in sorted(k for k in c if k.startswith("ready_")):
        print(f"      {key[len('ready_'):-2]:<26}{c[key]:8.2f}")


if __name__ == "__main__":
    main()

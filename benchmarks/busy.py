"""Load for benchmarks: processes that keep cores busy, bounded in time even if the benchmark dies."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager


def _spin(until: float) -> None:
    while time.monotonic() < until:
        pass


@contextmanager
def busy_cores(count: int = 2, limit_s: float = 3 * 3600) -> Iterator[None]:
    """`count` busy-loop processes while the block runs; each stops by itself after `limit_s` in any case."""
    until = time.monotonic() + limit_s
    workers = [multiprocessing.Process(target=_spin, args=(until,), daemon=True) for _ in range(count)]
    for worker in workers:
        worker.start()
    try:
        yield
    finally:
        for worker in workers:
            worker.terminate()
            worker.join()

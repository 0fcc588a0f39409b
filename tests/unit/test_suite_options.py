"""How `cmg-harness run` cuts the suite: the default workers, and shards."""

from __future__ import annotations

import argparse

import pytest

from harness import suite


@pytest.mark.parametrize("args", [["-n", "4"], ["-n4"], ["--numprocesses=3"], ["-p", "no:xdist"], ["-pno:xdist"],
                                  ["--dist", "loadfile"]])
def test_a_run_that_chooses_its_workers_keeps_its_choice(args: list[str]) -> None:
    assert suite.worker_arguments(args) == []


def test_a_run_that_does_not_choose_gets_the_measured_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suite, "DEFAULT_WORKERS", 2)
    assert suite.worker_arguments(["-k", "on_demand", "-x"]) == ["-n", "2"]
    monkeypatch.setattr(suite, "DEFAULT_WORKERS", 1)  # one core: one process
    assert suite.worker_arguments([]) == []


def test_a_shard_is_i_of_n() -> None:
    assert suite.parse_shard("2/3") == (2, 3)
    assert suite.shard_arguments(2, 3)[:4] == ["--splits", "3", "--group", "2"]


@pytest.mark.parametrize("text", ["0/2", "3/2", "2", "a/b", "1/0", "/2"])
def test_a_shard_that_cannot_be_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"expected I/N with 1 ≤ I ≤ N, e\.g\. 1/2"):
        suite.parse_shard(text)

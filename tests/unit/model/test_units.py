import time
from datetime import timedelta

import pytest

from harness.clock.model_clock import ModelClock
from harness.model.units import Scale, parse_bandwidth, parse_duration, parse_size


@pytest.mark.parametrize(("text", "expected"), [
    ("3.2 GB", 3_200_000_000), ("500 MB", 500_000_000), ("20MB", 20_000_000), ("1 KiB", 1024), ("7 B", 7),
])
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("4 minutes", 240.0), ("1 minute", 60.0), ("15 s", 15.0), ("15 seconds", 15.0), ("1.5 hours", 5400.0),
    ("250 ms", 0.25), ("2 days", 172800.0),
])
def test_parse_duration(text: str, expected: float) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "GB", "3.2", "3.2 parsecs", "-1 MB"])
def test_bad_sizes_name_the_input(text: str) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


def test_bad_duration_names_the_unit() -> None:
    with pytest.raises(ValueError, match="unknown time unit 'fortnights'"):
        parse_duration("2 fortnights")


@pytest.mark.parametrize(("text", "mbit"), [
    ("20 Mbit/s", 20.0), ("100Mbps", 100.0), ("8 Mb/s", 8.0), ("1.5 Gbit/s", 1500.0), ("1 Gbps", 1000.0),
    ("512 kbit/s", 0.512), ("512 Kbps", 0.512), ("64000 bit/s", 0.064), ("2 bits/s", 2e-6),
    ("2.5 MB/s", 20.0), ("125 kB/s", 1.0), ("1 GB/s", 8000.0), ("10 MBps", 80.0), ("  20 mbit/s ", 20.0),
])
def test_parse_bandwidth_in_mbit_per_second(text: str, mbit: float) -> None:
    assert parse_bandwidth(text) == pytest.approx(mbit)


def test_bandwidth_bits_and_bytes_differ_by_case() -> None:
    assert parse_bandwidth("20 MB/s") == 8 * parse_bandwidth("20 Mb/s")


@pytest.mark.parametrize(("text", "words"), [
    ("20 Mbit", "unknown bandwidth unit 'Mbit'"), ("20 Mbit / s", "unknown bandwidth unit 'Mbit / s'"),
    ("20 parsecs/s", "unknown bandwidth unit 'parsecs/s'"), ("fast", "not a bandwidth"), ("", "not a bandwidth"),
    ("-20 Mbit/s", "not a bandwidth"), ("Mbit/s", "not a bandwidth"),
])
def test_bad_bandwidths_name_the_problem(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_bandwidth(text)


def test_scale_maps_bytes_and_seconds() -> None:
    scale = Scale(1000)
    assert scale.physical_bytes(3_200_000_000) == 3_200_000
    assert scale.real_seconds(256) == pytest.approx(0.256)
    assert scale.model_seconds(0.256) == pytest.approx(256)
    assert scale.physical_bytes(1) == 1  # never an empty blob


def test_scale_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="scale must be 1 or more"):
        Scale(0.5)


def test_model_clock_runs_scale_times_faster() -> None:
    clock = ModelClock(Scale(3600), real_epoch=time.time())
    restored = ModelClock.from_json(clock.to_json())
    assert restored == clock
    later = ModelClock(Scale(3600), real_epoch=clock.real_epoch - 1.0)  # started one real second earlier
    assert later.now() - clock.now() == pytest.approx(timedelta(hours=1), abs=timedelta(seconds=60))

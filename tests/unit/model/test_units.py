import time
from datetime import timedelta

import pytest

from harness.model.units import ModelClock, Scale, parse_duration, parse_size


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

"""The two headers a fleet's requests and their answers carry (the harness's own, never the product's).

A fleet carries clients that start together and take the same path as one cohort (harness/model/fleet.py):
one request stands for all of them. The services count each member (a place at the CMG, a request for one file
at storage, its bytes in the CMG's egress) and, instead of holding the answer on the model clock, say when each
member's answer is done, in model seconds after the request arrived: the fleet's scheduler waits that long on
the virtual clock itself, so a cohort's members can part ways.

    X-Harness-Fleet-Clients: 250                  the request stands for 250 clients
    X-Harness-Model-Done: 1*200,2*50              200 answers done 1 s after arrival, 50 after 2 s

The offsets are in arrival order, each `seconds*count` (`*count` left out for one), in milliseconds' precision.
"""

from __future__ import annotations

from collections.abc import Sequence

FLEET_CLIENTS = "x-harness-fleet-clients"
MODEL_DONE = "x-harness-model-done"
MAX_COHORT = 100_000


class FleetHeaderError(ValueError):
    """A fleet header that cannot be read: the message names the header and the value."""


def read_clients(value: str | None) -> int | None:
    """The cohort's size from X-Harness-Fleet-Clients; None without the header (a request of one client)."""
    if value is None:
        return None
    try:
        count = int(value.strip())
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_COHORT:
        raise FleetHeaderError(f"{FLEET_CLIENTS}: {value!r} is not a number of clients from 1 to {MAX_COHORT}")
    return count


def write_done(offsets: Sequence[float]) -> str:
    """X-Harness-Model-Done for `offsets` (seconds after arrival, one per member, in order)."""
    runs: list[tuple[float, int]] = []
    for offset in (round(o, 3) for o in offsets):
        if runs and runs[-1][0] == offset:
            runs[-1] = (offset, runs[-1][1] + 1)
        else:
            runs.append((offset, 1))
    return ",".join(_seconds(offset) if count == 1 else f"{_seconds(offset)}*{count}" for offset, count in runs)


def _seconds(offset: float) -> str:
    return f"{offset:.3f}".rstrip("0").rstrip(".")


def read_done(value: str) -> list[float]:
    """The offsets X-Harness-Model-Done lists, one per member."""
    offsets: list[float] = []
    try:
        for part in value.split(","):
            seconds, star, count = part.strip().partition("*")
            times = int(count) if star else 1
            if times < 1:
                raise ValueError(part)
            offsets += [float(seconds)] * times
    except ValueError:
        raise FleetHeaderError(f"{MODEL_DONE}: {value!r} is not a list of seconds*count") from None
    if not offsets or any(o < 0 for o in offsets):
        raise FleetHeaderError(f"{MODEL_DONE}: {value!r} has no offsets, or a negative one")
    return offsets

import random
import socket
from pathlib import Path

import pytest

from harness.net.ports import PortReservation, PortReservationError, ephemeral_range, reservable_ports


def test_every_name_gets_a_distinct_port_outside_the_ephemeral_range_that_binds_as_the_services_do(
        tmp_path: Path) -> None:
    names = [f"service-{index}" for index in range(40)]
    with PortReservation(names, lock_dir=tmp_path) as reservation:
        ports = reservation.ports
        assert list(ports) == names
        assert len(set(ports.values())) == len(names)
        low, high = ephemeral_range()
        assert not [port for port in ports.values() if low <= port <= high]
        with socket.socket() as sock:  # as the services bind: SO_REUSEADDR, at once
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", ports["service-0"]))


def test_a_port_held_by_another_reservation_is_not_handed_out_until_it_is_released(tmp_path: Path) -> None:
    # Two candidates only, so the second reservation must avoid the first one's port, and a third finds none.
    candidates = _free(2)
    first = PortReservation(["a"], lock_dir=tmp_path, candidates=candidates, rng=random.Random(1))
    second = PortReservation(["b"], lock_dir=tmp_path, candidates=candidates, rng=random.Random(1))
    assert {first.ports["a"], second.ports["b"]} == set(candidates)
    with pytest.raises(PortReservationError, match="no free port for 'c'"):
        PortReservation(["c"], lock_dir=tmp_path, candidates=candidates)
    first.release()
    third = PortReservation(["c"], lock_dir=tmp_path, candidates=candidates)
    assert third.ports["c"] == first.ports["a"]
    second.release()
    third.release()


def test_a_port_something_else_listens_on_is_skipped(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        with pytest.raises(PortReservationError, match="no free port for 'a'"):
            PortReservation(["a"], lock_dir=tmp_path, candidates=[busy])


def test_a_failed_reservation_holds_nothing(tmp_path: Path) -> None:
    candidates = _free(1)
    with pytest.raises(PortReservationError):
        PortReservation(["a", "b"], lock_dir=tmp_path, candidates=candidates)  # "a" gets it, "b" cannot
    with PortReservation(["c"], lock_dir=tmp_path, candidates=candidates) as reservation:
        assert reservation.ports["c"] == candidates[0]


def test_the_ports_lie_outside_the_kernels_range(tmp_path: Path) -> None:
    range_file = tmp_path / "range"
    range_file.write_text("20000\t60999\n")
    ports = reservable_ports(range_file)
    assert ports[0] == 10000 and 19999 in ports and 20000 not in ports and 60999 not in ports and 61000 in ports


def test_a_range_that_leaves_nothing_is_named_in_the_error(tmp_path: Path) -> None:
    range_file = tmp_path / "range"
    range_file.write_text("1024 65535\n")
    with pytest.raises(PortReservationError, match="1024-65535"):
        reservable_ports(range_file)


def _free(count: int) -> list[int]:
    """Reservable ports nothing on this machine listens on now."""
    free = []
    for port in reservable_ports():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        free.append(port)
        if len(free) == count:
            return free
    raise AssertionError("no free ports to test with")

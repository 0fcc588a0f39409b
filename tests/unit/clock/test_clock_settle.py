"""Whether the world is quiet, from the parties' reports: what is busy, and bytes on their way to a reader."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from harness.clock.settle import Report, SocketReport, unquiet
from harness.clock.sockets import Counters, counters


def _end(local: int, peer: int, out: int, taken: int, *, reading: bool = True, pending: bool = False,
         state: int = 1) -> SocketReport:
    return SocketReport(Counters(f"127.0.0.1:{local}", f"127.0.0.1:{peer}", out, taken, state), reading, pending)


def test_a_world_with_nothing_busy_and_nothing_on_the_wire_is_quiet() -> None:
    client = Report("client", sockets=[_end(5000, 443, out=300, taken=1200)])
    proxy = Report("network", sockets=[_end(443, 5000, out=1200, taken=300)])
    assert unquiet([client, proxy]) == []


def test_bytes_on_their_way_to_a_reader_keep_it_from_being_quiet() -> None:
    client = Report("client", sockets=[_end(5000, 443, out=300, taken=1000)])
    proxy = Report("network", sockets=[_end(443, 5000, out=1200, taken=300)])
    assert unquiet([client, proxy]) == ["client: bytes on their way to 127.0.0.1:5000 from network at 127.0.0.1:443"]


def test_bytes_held_back_for_an_owner_that_waits_on_the_clock_do_not() -> None:
    """A run asleep in the middle of a paced download: what the proxy sent waits for it."""
    client = Report("client", sockets=[_end(5000, 443, out=300, taken=1000, reading=False)])
    proxy = Report("network", sockets=[_end(443, 5000, out=1200, taken=300)])
    assert unquiet([client, proxy]) == []


def test_bytes_a_sender_still_holds_in_its_own_buffer_count_too() -> None:
    client = Report("client", sockets=[_end(5000, 443, out=300, taken=1200)])
    proxy = Report("network", sockets=[_end(443, 5000, out=1200, taken=300, pending=True)])
    assert unquiet([client, proxy]) != []


def test_an_end_of_stream_not_yet_read_is_not_quiet() -> None:
    client = Report("client", sockets=[_end(5000, 443, out=300, taken=1200, state=8)])
    proxy = Report("network", sockets=[_end(443, 5000, out=1200, taken=300, state=4)])
    assert unquiet([client, proxy]) == [
        "client: the end of the stream from network at 127.0.0.1:443 is still to be read at 127.0.0.1:5000"]


def test_busy_parties_say_what_is_busy() -> None:
    assert unquiet([Report("site", busy=["GET /SMS_MP/.sms_aut?MPLIST"])]) == ["site: GET /SMS_MP/.sms_aut?MPLIST"]


def test_a_connection_with_one_end_outside_the_world_is_left_to_the_end_inside() -> None:
    assert unquiet([Report("storage", sockets=[_end(6000, 10000, out=0, taken=0)])]) == []


def test_reports_survive_json() -> None:
    report = Report("network", busy=["proxy cmg: 2 callbacks ready"], sockets=[_end(1, 2, 3, 4, pending=True)])
    assert Report.from_json(report.to_json()) == report


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        accepted, _ = server.accept()
        with client, accepted:
            yield client, accepted


def _reports(a: socket.socket, b: socket.socket) -> list[Report]:
    ca, cb = counters(a), counters(b)
    assert ca is not None and cb is not None
    return [Report("a", sockets=[SocketReport(ca, True)]), Report("b", sockets=[SocketReport(cb, True)])]


def test_the_kernel_counts_what_was_written_and_what_was_taken(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    assert unquiet(_reports(a, b)) == []
    a.sendall(b"x" * 100_000)
    assert unquiet(_reports(a, b)) != []  # in b's receive queue, or still in a's send queue: on its way
    received = 0
    while received < 100_000:
        received += len(b.recv(65536))
    assert unquiet(_reports(a, b)) == []
    a.shutdown(socket.SHUT_WR)
    deadline = time.monotonic() + 5  # the FIN crosses loopback at once; this only bounds a hung kernel
    while (now := counters(b)) is not None and not now.peer_closed and time.monotonic() < deadline:
        time.sleep(0.001)
    assert any("end of the stream" in reason for reason in unquiet(_reports(a, b)))

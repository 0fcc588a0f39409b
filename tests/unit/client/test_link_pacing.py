"""A client's link paces bytes: the pacer against a fake clock, the transport against a tiny HTTP server on
127.0.0.1.

Rates are measured against configured ones with ±3 %. These transfers (2 MB at 8 and 20 Mbit/s, 5 MB at 100, the
server a thread of this process) came within 0.25 % of the rate in 10 runs each on an idle 2-core machine, and
within 0.8 % in 20 runs each with both cores kept busy by two other processes. 2 MB at 100 Mbit/s (0.16 s) missed
by up to 8 % there (a stall at the very end cannot be made up), so that transfer is longer. Other timing checks are
lower bounds.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.client.link import (
    CATCH_UP_SECONDS,
    CONTENT,
    QUANTUM_SECONDS,
    LinkProfile,
    LinkTiming,
    LinkTransport,
    Pacer,
    link_layer,
)
from harness.model.units import Scale
from harness.net.http import make_client
from harness.net.tls import TestPKI

HOST = "bulk.link.example"
MB = 10**6


# -- the pacer, against a fake clock ---------------------------------------------------------------------------


class FakeClock:
    """perf_counter and sleep for a pacer; `late` is how much every sleep oversleeps."""

    def __init__(self, late: float = 0.0) -> None:
        self.now = 100.0
        self.late = late
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds + self.late


def pacer(mbit: float, clock: FakeClock) -> Pacer:
    return Pacer(mbit, clock=clock, sleep=clock.sleep)


def test_a_transfer_takes_its_bytes_over_the_rate_in_small_pieces() -> None:
    clock = FakeClock()
    chunks = [b"a" * 65536] * 15 + [b"b" * 16960]  # 1 MB as a socket hands it over
    pieces = list(pacer(8, clock).paced(chunks))  # 8 Mbit/s = 1 MB/s
    assert b"".join(pieces) == b"".join(chunks)
    assert max(len(p) for p in pieces) == 5000  # 5 ms of the link's time each
    assert clock.now - 100.0 == pytest.approx(1.0)


def test_sleeps_that_wake_late_are_made_up() -> None:
    clock = FakeClock(late=0.003)  # every sleep 3 ms late: 200 sleeps would add 0.6 s
    list(pacer(8, clock).paced([b"x" * MB]))
    assert clock.now - 100.0 == pytest.approx(1.0, abs=0.004)


def test_a_sleep_that_wakes_far_too_late_is_made_up_all_the_same() -> None:
    clock = FakeClock()
    paced = pacer(8, clock).paced([b"x" * MB])
    for _ in range(100):  # half the transfer
        next(paced)
    clock.late = 0.15  # a busy machine wakes the next sleep 150 ms late, more than the catch-up
    next(paced)
    clock.late = 0.0
    list(paced)
    assert clock.now - 100.0 == pytest.approx(1.0, abs=0.01)


def test_idle_time_between_transfers_is_no_credit() -> None:
    clock = FakeClock()
    link = pacer(8, clock)
    list(link.paced([b"x" * MB]))
    clock.now += 10.0
    started = clock.now
    list(link.paced([b"x" * MB]))
    assert clock.now - started == pytest.approx(1.0)


def test_a_stall_longer_than_the_catch_up_is_not_made_up() -> None:
    clock = FakeClock()
    paced = pacer(8, clock).paced([b"x" * MB])
    for _ in range(100):  # half the transfer
        next(paced)
    clock.now += 1.0  # the reader stalls for a second
    list(paced)
    assert clock.now - 100.0 == pytest.approx(2.0 - CATCH_UP_SECONDS)


def test_a_reader_late_to_read_catches_up_what_the_link_carried_meanwhile() -> None:
    clock = FakeClock()
    link = pacer(8, clock)
    answered = link.now()  # the headers are there
    clock.now += 0.05  # the reader looks at them first
    list(link.paced([b"x" * MB], answered))
    assert clock.now - answered == pytest.approx(1.0)


def test_transfers_at_the_same_time_share_the_rate() -> None:
    clock = FakeClock()
    link = pacer(8, clock)
    first, second = link.paced([b"1" * MB]), link.paced([b"2" * MB])
    for _ in range(200):
        next(first)
        next(second)
    assert clock.now - 100.0 == pytest.approx(2.0)


# -- the transport, against a local server ---------------------------------------------------------------------


class BulkHandler(http.server.BaseHTTPRequestHandler):
    """GET /<n> answers n bytes; POST answers the body's length and the seconds its bytes took to arrive."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls

    def do_GET(self) -> None:
        size = int(self.path.strip("/"))
        self._answer(b"\x5a" * size)

    def do_POST(self) -> None:
        started = time.perf_counter()
        remaining = int(self.headers["Content-Length"])
        while remaining > 0:
            remaining -= len(self.rfile.read1(min(remaining, 65536)))
        self._answer(f"{self.headers['Content-Length']} {time.perf_counter() - started}".encode())

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BulkHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{HOST}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return TestPKI.create(tmp_path_factory.mktemp("pki")).ca_cert_path


@pytest.fixture
def client(ca: Path) -> Iterator[httpx.Client]:
    """The agent's kind of client: the resolver finds the server by name."""
    with make_client({HOST: "127.0.0.1"}, ca) as http:
        yield http


Linked = Callable[..., tuple[httpx.Client, LinkTransport]]


@pytest.fixture
def linked(ca: Path) -> Iterator[Callable[..., tuple[httpx.Client, LinkTransport]]]:
    """linked(scale, profile=…): the agent's kind of client with a link layer, made as the agent makes it."""
    made: list[httpx.Client] = []

    def make(scale: Scale, **options: Any) -> tuple[httpx.Client, LinkTransport]:
        wrap, link = link_layer(scale, **options)
        made.append(make_client({HOST: "127.0.0.1"}, ca, wrap=wrap))
        return made[-1], link()

    yield make
    for made_client in made:
        made_client.close()


def body_seconds(http: httpx.Client, base: str, size: int, clock: FakeClock) -> float:
    """Seconds of the link's clock a download's body takes, from its headers to its last byte."""
    with http.stream("GET", f"{base}/{size}", extensions={CONTENT: True}) as response:
        started = clock()
        assert sum(len(chunk) for chunk in response.iter_bytes(256 * 1024)) == size
    return clock() - started


def fake_timing(clock: FakeClock) -> LinkTiming:
    return LinkTiming(now=clock, sleep=clock.sleep)


@pytest.mark.parametrize(("mbit", "size"), [(8, 2 * MB), (20, 2 * MB), (100, 5 * MB)])
def test_a_download_holds_the_link_rate(linked: Linked, base: str, mbit: float, size: int) -> None:
    # The bytes come over real sockets; the link's time is a clock that moves only by its sleeps, so the figure
    # is the pacing the transport asked for, whatever else the machine was doing.
    clock = FakeClock()
    client, _ = linked(Scale(1000), profile=LinkProfile(mbit), timing=fake_timing(clock))
    client.get(f"{base}/1")  # connected: the transfer below measures the link, not the handshake
    assert body_seconds(client, base, size, clock) == pytest.approx(size * 8 / (mbit * 1e6), abs=QUANTUM_SECONDS)


def test_a_download_is_never_faster_than_its_link_in_real_time(linked: Linked, base: str) -> None:
    client, _ = linked(Scale(1000), profile=LinkProfile(20))
    client.get(f"{base}/1")
    started = time.perf_counter()
    assert len(client.get(f"{base}/{2 * MB}", extensions={CONTENT: True}).content) == 2 * MB
    assert time.perf_counter() - started >= 2 * MB * 8 / 20e6 - QUANTUM_SECONDS


def test_an_upload_holds_the_upstream_rate(linked: Linked, base: str) -> None:
    clock = FakeClock()
    client, _ = linked(Scale(1000), profile=LinkProfile(100, up_mbit=20), timing=fake_timing(clock))
    client.get(f"{base}/1")
    started = clock()
    received, _ = client.post(f"{base}/", content=b"\x5a" * (2 * MB), extensions={CONTENT: True}).text.split()
    assert int(received) == 2 * MB
    assert clock() - started == pytest.approx(2 * MB * 8 / 20e6, abs=2 * QUANTUM_SECONDS)


def test_a_protocol_message_costs_its_own_size_not_the_scale_of_content() -> None:
    """At scale 1000 a 2 MB protocol body over 8 Mbit/s is 2 ms of the link's time: a thousandth of content's."""
    for content, expected in ((False, 2 * MB * 8 / 8e6 / 1000), (True, 2 * MB * 8 / 8e6)):
        waits: list[float] = []
        answer = httpx.Response(200, content=b"\x5a" * (2 * MB))
        timing = LinkTiming(now=lambda: 0.0, sleep=waits.append, quantum=None)
        link = LinkTransport(httpx.MockTransport(lambda request, answer=answer: answer), Scale(1000),
                             profile=LinkProfile(8), timing=timing)
        request = httpx.Request("GET", "https://storage.example/blob", extensions={CONTENT: content})
        link.handle_request(request).read()
        assert sum(waits) == pytest.approx(expected, rel=1e-9)


def test_a_link_without_an_upstream_rate_sends_requests_as_they_are() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    request = httpx.Request("POST", "https://cmg.contoso.example/", content=b"policy")
    LinkTransport(httpx.MockTransport(answer), Scale(1), profile=LinkProfile(20)).handle_request(request)
    assert sent == [request]


def test_without_a_profile_responses_pass_straight_through() -> None:
    answer = httpx.Response(200, content=b"as is")
    link = LinkTransport(httpx.MockTransport(lambda request: answer), Scale(1))
    assert link.handle_request(httpx.Request("GET", "https://cmg.contoso.example/")) is answer


def test_latency_is_one_round_trip_per_request_in_real_time() -> None:
    waits: list[float] = []
    link = LinkTransport(httpx.MockTransport(lambda request: httpx.Response(200)), Scale(1000),
                         profile=LinkProfile(20, latency_s=0.08), timing=LinkTiming(sleep=waits.append))
    for _ in range(3):
        link.handle_request(httpx.Request("GET", "https://cmg.contoso.example/"))
    assert waits == pytest.approx([0.00008] * 3)  # 80 model ms at scale 1000


def test_jitter_is_drawn_from_the_seed() -> None:
    def round_trips(seed: str) -> list[float]:
        waits: list[float] = []
        link = LinkTransport(httpx.MockTransport(lambda request: httpx.Response(200)), Scale(1), seed=seed,
                             profile=LinkProfile(20, latency_s=0.08, jitter_s=0.02),
                             timing=LinkTiming(sleep=waits.append))
        for _ in range(20):
            link.handle_request(httpx.Request("GET", "https://cmg.contoso.example/"))
        return waits

    assert round_trips("CLIENT01/0") == round_trips("CLIENT01/0")
    assert round_trips("CLIENT01/0") != round_trips("CLIENT02/0")
    assert all(0.06 <= wait <= 0.10 for wait in round_trips("CLIENT01/0"))
    assert len(set(round_trips("CLIENT01/0"))) > 1


def test_a_request_waits_its_round_trip(linked: Linked, base: str) -> None:
    client, link = linked(Scale(1))
    client.get(f"{base}/1")
    link.profile = LinkProfile(1000, latency_s=0.05)
    started = time.perf_counter()
    client.get(f"{base}/1")
    assert time.perf_counter() - started >= 0.05


def test_a_new_profile_applies_to_the_next_request(linked: Linked, base: str) -> None:
    clock = FakeClock()
    client, link = linked(Scale(1000), profile=LinkProfile(8), timing=fake_timing(clock))
    assert client.get(f"{base}/1000").content == b"\x5a" * 1000
    link.profile = LinkProfile(100)
    assert body_seconds(client, base, 5 * MB, clock) == pytest.approx(0.4, abs=QUANTUM_SECONDS)
    link.profile = None
    assert link.profile is None

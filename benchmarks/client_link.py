"""A client's link (harness/client/link.py): shaped bandwidth down and up, and the latency per request, against
what was configured; and what an unshaped link costs against no link at all.

    .venv/bin/python benchmarks/client_link.py [--repeats 5] [--megabytes 3] [--rounds 5]

An HTTPS bulk server runs in its own process; the client is the agent's: `make_client` (name resolver, test CA)
with the agent's `link_layer`, reading in the main thread as a client's run thread does, on a kept-alive connection. A
download's rate is its body's bytes over the time from the answer's headers to its last byte (what the link paces);
an upload's likewise, as the server saw it. "exchange %" is the error over the whole exchange, from sending the
request to the last byte of the answer. Latency runs at scale 1 (real seconds = model seconds), so the round trip
it adds can be measured against a clock.

Prints a table for people and, as its last line, one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import http.server
import json
import multiprocessing
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.client.link import LinkProfile, LinkTransport, link_layer  # noqa: E402
from harness.model.units import Scale  # noqa: E402
from harness.net.http import make_client  # noqa: E402
from harness.net.tls import TestPKI  # noqa: E402

RATES_MBIT = (8, 20, 100)
HOST = "bulk.link.example"
LATENCY_MODEL_S = 0.08
MakeLinked = Callable[[Scale], tuple[httpx.Client, LinkTransport]]
PAYLOAD = b"\x5a" * 2**20


class BulkHandler(http.server.BaseHTTPRequestHandler):
    """GET /<n> answers n bytes; POST reads the body and answers its length and how long it took."""

    protocol_version = "HTTP/1.1"  # kept-alive connections, as the harness's clients use
    # Headers and body leave in separate writes: with Nagle, delayed ACKs would add 40 ms to small answers.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        remaining = int(self.path.strip("/") or 0)
        self.send_response(200)
        self.send_header("Content-Length", str(remaining))
        self.end_headers()
        while remaining > 0:
            size = min(len(PAYLOAD), remaining)
            self.wfile.write(PAYLOAD[:size])
            remaining -= size

    def do_POST(self) -> None:
        """Answers the body's length and the seconds from its headers to its last byte, as this side saw them."""
        started = time.perf_counter()
        remaining = int(self.headers["Content-Length"])
        while remaining > 0:
            remaining -= len(self.rfile.read1(min(remaining, 2**16)))
        body = f"{self.headers['Content-Length']} {time.perf_counter() - started}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(ready: Connection, cert: tuple[str, str]) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BulkHandler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    ready.send(server.server_address[1])
    server.serve_forever()


@dataclass(frozen=True)
class Exchange:
    bytes: int
    seconds: float  # from sending the request to the last byte of the answer
    body_seconds: float  # the body alone, from its headers to its last byte (an upload's as the server saw it)


def download(http: httpx.Client, base: str, size: int) -> Exchange:
    received = 0
    started = time.perf_counter()
    with http.stream("GET", f"{base}/{size}") as response:
        headers_at = time.perf_counter()
        for chunk in response.iter_bytes(256 * 1024):
            received += len(chunk)
    ended = time.perf_counter()
    return Exchange(received, ended - started, ended - headers_at)


def upload(http: httpx.Client, base: str, size: int) -> Exchange:
    started = time.perf_counter()
    received, body_seconds = http.post(f"{base}/", content=b"\x5a" * size).text.split()
    return Exchange(int(received), time.perf_counter() - started, float(body_seconds))


def rates(send: Callable[[], Exchange], mbit: float, repeats: int) -> dict[str, float]:
    """The link's rate (the body's bytes over its time) and the whole exchange's, request and answer included."""
    exchanges = [send() for _ in range(repeats)]
    body = [e.bytes * 8 / 1e6 / e.body_seconds for e in exchanges]
    whole = [e.bytes * 8 / 1e6 / e.seconds for e in exchanges]
    worst = max(body, key=lambda rate: abs(rate - mbit))
    return {"configured_mbit": mbit, "achieved_mbit": round(statistics.median(body), 3),
            "error_pct": _error(statistics.median(body), mbit), "worst_error_pct": _error(worst, mbit),
            "exchange_error_pct": _error(statistics.median(whole), mbit)}


def _error(rate: float, mbit: float) -> float:
    return round(100 * (rate / mbit - 1), 2)


def shaped(make: MakeLinked, base: str, repeats: int, size: int) -> dict[str, dict[str, dict[str, float]]]:
    http, link = make(Scale(1000))
    download(http, base, 1)  # connect and handshake once: transfers below use the kept-alive connection
    figures: dict[str, dict[str, dict[str, float]]] = {"down": {}, "up": {}}
    for mbit in RATES_MBIT:
        link.profile = LinkProfile(mbit, up_mbit=mbit)
        figures["down"][f"{mbit}_mbit"] = rates(lambda: download(http, base, size), mbit, repeats)
        figures["up"][f"{mbit}_mbit"] = rates(lambda: upload(http, base, size), mbit, repeats)
    return figures


def latency(make: MakeLinked, base: str, rounds: int) -> dict[str, float]:
    """Round trips of small requests with and without 80 ms of latency (at scale 1), interleaved."""
    http, link = make(Scale(1))
    download(http, base, 1)
    samples: dict[str, list[float]] = {"unshaped": [], "shaped": []}
    for _ in range(rounds * 4):
        for name, profile in (("unshaped", None), ("shaped", LinkProfile(1000, latency_s=LATENCY_MODEL_S))):
            link.profile = profile
            samples[name].append(download(http, base, 100).seconds)
    added = [s - u for s, u in zip(samples["shaped"], samples["unshaped"], strict=True)]
    return {"configured_ms": LATENCY_MODEL_S * 1000, "added_median_ms": round(1000 * statistics.median(added), 3),
            "added_min_ms": round(1000 * min(added), 3), "added_max_ms": round(1000 * max(added), 3),
            "unshaped_request_median_ms": round(1000 * statistics.median(samples["unshaped"]), 3)}


def pass_through(make: Callable[[], httpx.Client], make_linked: MakeLinked, base: str, rounds: int,
                 size: int) -> dict[str, float]:
    """Unshaped throughput with an unshaped link installed against a client without one, interleaved."""
    clients = {"no_link": make(), "unshaped_link": make_linked(Scale(1000))[0]}
    samples: dict[str, list[float]] = {name: [] for name in clients}
    try:
        for http in clients.values():
            download(http, base, size)  # warm up
        for _ in range(rounds):
            for name, http in clients.items():
                samples[name].append(size / 1e6 / download(http, base, size).seconds)
    finally:
        for http in clients.values():
            http.close()
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {"no_link_mb_s": round(medians["no_link"]), "unshaped_link_mb_s": round(medians["unshaped_link"]),
            "unshaped_to_no_link": round(medians["unshaped_link"] / medians["no_link"], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="transfers per shaped rate and direction")
    parser.add_argument("--megabytes", type=float, default=3.0, help="size of each shaped transfer (10^6 bytes)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of unshaped transfers")
    args = parser.parse_args()

    size = round(args.megabytes * 1e6)
    with tempfile.TemporaryDirectory() as tmp, _server_process(Path(tmp)) as (port, ca):
        base = f"https://{HOST}:{port}"

        def make() -> httpx.Client:
            return make_client({HOST: "127.0.0.1"}, ca, timeout=60.0)

        def make_linked(scale: Scale) -> tuple[httpx.Client, LinkTransport]:
            """A client with a link layer, made as the agent makes one."""
            wrap, link = link_layer(scale, seed="bench")
            return make_client({HOST: "127.0.0.1"}, ca, timeout=60.0, wrap=wrap), link()

        shaped_figures = shaped(make_linked, base, args.repeats, size)
        latency_figures = latency(make_linked, base, args.rounds)
        unshaped_figures = pass_through(make, make_linked, base, args.rounds, 64 * 2**20)
    figures = {"shaped": shaped_figures, "latency": latency_figures, "unshaped": unshaped_figures,
               "repeats": args.repeats, "transfer_bytes": size, "rounds": args.rounds}
    _print_table(figures)
    print(json.dumps(figures))


def _print_table(figures: dict[str, object]) -> None:
    shaped = figures["shaped"]
    assert isinstance(shaped, dict)
    print(f"{'shaped':<16}{'configured':>12}{'achieved':>12}{'error %':>10}{'worst %':>10}{'exchange %':>12}")
    for direction, rows in shaped.items():
        for key, row in rows.items():
            print(f"{direction + ' ' + key:<16}{row['configured_mbit']:>12}{row['achieved_mbit']:>12}"
                  f"{row['error_pct']:>10}{row['worst_error_pct']:>10}{row['exchange_error_pct']:>12}")
    for title in ("latency", "unshaped"):
        rows = figures[title]
        assert isinstance(rows, dict)
        print(f"{title:<34}{'value':>12}")
        for key, value in rows.items():
            print(f"  {key:<32}{value!s:>12}")


@contextmanager
def _server_process(tmp: Path) -> Iterator[tuple[int, Path]]:
    pki = TestPKI.create(tmp)
    cert = pki.issue_server_cert("bulk", [HOST])
    context = multiprocessing.get_context("spawn")  # a process of its own: no GIL shared with the client
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=serve, args=(sender, (str(cert.cert_path), str(cert.key_path))), daemon=True)
    process.start()
    try:
        port = receiver.recv()
        if not isinstance(port, int):
            raise RuntimeError(f"bulk server sent {port!r}, not a port")
        yield port, pki.ca_cert_path
    finally:
        process.kill()
        process.join()


if __name__ == "__main__":
    main()

"""The fault proxy: shaped bandwidth against what was configured, and unshaped throughput against a direct
connection, measured side by side in one run.

    .venv/bin/python benchmarks/proxy.py [--repeats 3] [--seconds 1.5] [--rounds 7] [--unshaped-mib 256]

A bulk server in its own process sends what each client asks for; the proxy runs in a background thread of this
process, as the harness runs it; the client reads in the main thread. Unshaped figures also show a minimal relay
(two threads copying with blocking calls): the cost of a second TCP hop on loopback, which no proxy avoids; and
the same comparison for a TLS stream; and what the harness's clients do, an HTTPS download by httpx from a
uvicorn service of a running environment, through its proxy and straight to the service. That last ratio is the
one the proxy's "≥ 0.8× a direct connection" goal is about: on raw loopback TCP a second hop costs any proxy
about half the throughput (the minimal relay shows it), but a real client's TLS and HTTP cost more than the hop.

Prints a table for people and, as its last line, one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.drivers.site import SiteDriver  # noqa: E402
from harness.environments.local import LocalEnvironment  # noqa: E402
from harness.net.proxy import FaultProxy  # noqa: E402
from harness.net.tls import TestPKI  # noqa: E402
from harness.net.toxics import bandwidth  # noqa: E402

RATES_MBIT = (8, 50, 100, 1000)
READ_SIZE = 256 * 1024


def bulk_server(ready: Connection, cert: tuple[str, str] | None) -> None:
    """Sends each client the number of bytes it asks for (8 bytes, big-endian), then closes; TLS if `cert`."""
    context = None
    if cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*cert)
    listener = socket.create_server(("127.0.0.1", 0))
    ready.send(listener.getsockname()[1])
    payload = memoryview(b"\x5a" * (4 * 2**20))
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_send_bulk, args=(client, payload, context), daemon=True).start()


def _send_bulk(raw: socket.socket, payload: memoryview, context: ssl.SSLContext | None) -> None:
    with context.wrap_socket(raw, server_side=True) if context else raw as client:
        remaining = int.from_bytes(_exactly(client, 8), "big")
        while remaining > 0:
            size = min(len(payload), remaining)
            client.sendall(payload[:size])
            remaining -= size


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        data += sock.recv(size - len(data))
    return data


def fetch(port: int, size: int, context: ssl.SSLContext | None = None) -> float:
    """Seconds from asking for `size` bytes to the last of them."""
    buffer = memoryview(bytearray(READ_SIZE))
    raw = socket.create_connection(("127.0.0.1", port))
    with context.wrap_socket(raw, server_hostname="127.0.0.1") if context else raw as sock:
        started = time.perf_counter()
        sock.sendall(size.to_bytes(8, "big"))
        received = 0
        while count := sock.recv_into(buffer):
            received += count
        elapsed = time.perf_counter() - started
    if received != size:
        raise RuntimeError(f"received {received} of {size} bytes")
    return elapsed


@contextmanager
def minimal_relay(upstream_port: int) -> Iterator[int]:
    """The simplest forwarder there is: the floor for any proxy's overhead on this machine."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", upstream_port))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_copy, args=(source, sink), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def _copy(source: socket.socket, sink: socket.socket) -> None:
    buffer = memoryview(bytearray(READ_SIZE))
    try:
        while count := source.recv_into(buffer):
            sink.sendall(buffer[:count])
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def shaped(proxy: FaultProxy, repeats: int, seconds: float) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    for mbit in RATES_MBIT:
        size = round(mbit * 125_000 * seconds)
        proxy.reset()
        proxy.add_toxic(bandwidth(mbit))
        rates = [size * 8 / 1e6 / fetch(proxy.port, size) for _ in range(repeats)]
        errors: list[float] = [100 * (rate / mbit - 1) for rate in rates]
        worst = max(errors, key=abs)
        figures[f"{mbit}_mbit"] = {"configured_mbit": mbit, "achieved_mbit": round(statistics.median(rates), 2),
                                   "error_pct": round(100 * (statistics.median(rates) / mbit - 1), 2),
                                   "worst_error_pct": round(worst, 2), "bytes": size}
    proxy.reset()
    return figures


def unshaped(ports: dict[str, int], rounds: int, size: int,
             context: ssl.SSLContext | None = None) -> dict[str, float]:
    rates: dict[str, list[float]] = {name: [] for name in ports}
    for port in ports.values():
        fetch(port, 32 * 2**20, context)  # warm up: connection paths, page cache, CPU frequency
    for _ in range(rounds):  # interleaved, so each sees the same machine noise
        for name, port in ports.items():
            rates[name].append(size / 1e6 / fetch(port, size, context))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    per_round = [p / d for p, d in zip(rates["proxy"], rates["direct"], strict=True)]
    figures: dict[str, float] = {f"{name}_mb_s": round(median) for name, median in medians.items()}
    figures.update({"proxy_to_direct": round(medians["proxy"] / medians["direct"], 2),
                    "proxy_to_direct_per_round_min": round(min(per_round), 2),
                    "proxy_to_direct_per_round_max": round(max(per_round), 2)})
    if "minimal_relay" in medians:
        figures["proxy_to_minimal_relay"] = round(medians["proxy"] / medians["minimal_relay"], 2)
    return figures


def harness_download(rounds: int, mib: int) -> dict[str, float]:
    """What the harness's clients do: an HTTPS GET of a DP file from the site process (uvicorn), read by httpx,
    through the network's proxy (the public port) and directly (the service's own port), interleaved."""
    scale = 100  # a 6.4 GB package is `mib` MiB on the wire at this scale
    with LocalEnvironment(scale=scale) as env:
        site = SiteDriver(env.http, env.endpoints["mp"].control_base)
        site.define_package("PS1000BE", "Benchmark content", mib * 2**20 * scale, kind="OS upgrade package")
        site.distribute("PS1000BE", "dp")
        path = "/SMS_DP_SMSPKG$/PS1000BE/sources/install.esd"
        urls = {"direct": env.endpoints["mp"].control_base + path, "proxy": env.endpoints["mp"].base + path}

        def get(url: str) -> float:
            started, size = time.perf_counter(), 0
            with env.http.stream("GET", url) as response:
                response.raise_for_status()
                for chunk in response.iter_raw(READ_SIZE):
                    size += len(chunk)
            return size / 1e6 / (time.perf_counter() - started)

        for url in urls.values():
            get(url)  # warm up
        rates: dict[str, list[float]] = {name: [] for name in urls}
        for _ in range(rounds):
            for name, url in urls.items():
                rates[name].append(get(url))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    return {"direct_mb_s": round(medians["direct"]), "proxy_mb_s": round(medians["proxy"]),
            "proxy_to_direct": round(medians["proxy"] / medians["direct"], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="transfers per shaped rate")
    parser.add_argument("--seconds", type=float, default=1.5, help="length of each shaped transfer")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds of unshaped transfers")
    parser.add_argument("--unshaped-mib", type=int, default=256)
    args = parser.parse_args()

    size = args.unshaped_mib * 2**20
    with _bulk_server_process() as server_port, FaultProxy("bench", f"127.0.0.1:{server_port}") as proxy:
        shaped_figures = shaped(proxy, args.repeats, args.seconds)
        with minimal_relay(server_port) as relay_port:
            ports = {"direct": server_port, "proxy": proxy.port, "minimal_relay": relay_port}
            raw_figures = unshaped(ports, args.rounds, size)
    with tempfile.TemporaryDirectory() as tmp:
        pki = TestPKI.create(Path(tmp))
        cert = pki.issue_server_cert("bulk", ["127.0.0.1"])
        with (_bulk_server_process((str(cert.cert_path), str(cert.key_path))) as server_port,
              FaultProxy("bench-tls", f"127.0.0.1:{server_port}") as proxy):
            ports = {"direct": server_port, "proxy": proxy.port}
            tls_figures = unshaped(ports, args.rounds, size, pki.client_ssl_context())
    https_figures = harness_download(args.rounds, 64)
    figures = {"shaped": shaped_figures, "unshaped_raw": raw_figures, "unshaped_tls": tls_figures,
               "harness_https_download": https_figures,
               "repeats": args.repeats, "seconds_per_shaped_transfer": args.seconds,
               "unshaped_transfer_mib": args.unshaped_mib, "unshaped_rounds": args.rounds}

    print(f"{'shaped':<10}{'configured':>12}{'achieved':>12}{'error %':>10}{'worst %':>10}{'bytes':>12}")
    for key, row in shaped_figures.items():
        print(f"{key:<10}{row['configured_mbit']:>12}{row['achieved_mbit']:>12}{row['error_pct']:>10}"
              f"{row['worst_error_pct']:>10}{row['bytes']:>12}")
    for title, rows in (("unshaped, raw TCP", raw_figures), ("unshaped, TLS stream", tls_figures),
                        ("HTTPS download from a service", https_figures)):
        print(f"{title:<34}{'value':>12}")
        for key, value in rows.items():
            print(f"  {key:<32}{value!s:>12}")
    print(json.dumps(figures))


@contextmanager
def _bulk_server_process(cert: tuple[str, str] | None = None) -> Iterator[int]:
    context = multiprocessing.get_context("spawn")  # a process of its own: no GIL shared with the client
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=bulk_server, args=(sender, cert), daemon=True)
    process.start()
    try:
        yield _received(receiver.recv)
    finally:
        process.kill()
        process.join()


def _received(receive: Callable[[], object]) -> int:
    port = receive()
    if not isinstance(port, int):
        raise RuntimeError(f"bulk server sent {port!r}, not a port")
    return port


if __name__ == "__main__":
    main()

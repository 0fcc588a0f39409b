"""The fault proxy's controls, against a tiny threaded server on 127.0.0.1: down and up again, toxicity and its seed,
toxics added, updated and removed by name (and bad ones refused naming the field), reset, control from many threads,
a clean stop; and the toxic helpers in model units. tests/unit/net/test_proxy.py shows what each toxic does.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from typing import Any

import pytest

from harness.model.units import Scale
from harness.net.proxy import FaultProxy
from harness.net.toxics import ModelToxics, Toxic, bandwidth, rate_from_mbit
from tests.unit.net.proxy_upstream import (
    Upstream,
    address_of,
    connect,
    download,
    eventually,
    is_closed,
    receive_exactly,
    round_trip,
)


def test_down_refuses_new_connections_and_closes_live_ones(proxy: FaultProxy) -> None:
    live = connect(proxy, "echo")

    proxy.disable()

    with live:
        assert is_closed(live)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=5).close()
    assert proxy.to_json()["enabled"] is False
    proxy.enable()
    assert round_trip(proxy) >= 0


def test_a_socket_bound_beforehand_is_served_and_its_port_kept_across_down(upstream: Upstream) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    with FaultProxy("handed-over", address_of(upstream), listener=listener) as proxy:
        assert proxy.port == port
        assert round_trip(proxy) >= 0
        proxy.disable()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        proxy.enable()
        assert (proxy.port, round_trip(proxy) >= 0) == (port, True)


@pytest.mark.parametrize(("toxicity", "expected"), [(0.0, 0), (1.0, 6)])
def test_toxicity_zero_never_applies_and_one_always_does(proxy: FaultProxy, toxicity: float, expected: int) -> None:
    proxy.add_toxic({"type": "limit_data", "toxicity": toxicity, "attributes": {"bytes": 10}})

    assert sum(download(proxy, 1000)[0] == 10 for _ in range(6)) == expected


def test_toxicity_rolls_repeat_with_the_seed(upstream: Upstream) -> None:
    def hits(proxy: FaultProxy) -> list[bool]:
        return [download(proxy, 1000)[0] == 10 for _ in range(16)]

    half = {"type": "limit_data", "toxicity": 0.5, "attributes": {"bytes": 10}}
    with FaultProxy("a", address_of(upstream), seed=1, toxics=[half]) as first:
        pattern = hits(first)
        first.reset()
        first.add_toxic(half)
        again = hits(first)
    with FaultProxy("b", address_of(upstream), seed=1, toxics=[half]) as second:
        twin = hits(second)

    assert 0 < sum(pattern) < 16
    assert pattern == again == twin


@pytest.mark.parametrize(("toxic", "field"), [
    ({"type": "jitter"}, "type"),
    ({"attributes": {}}, "type"),
    ({"type": "latency", "stream": "sideways"}, "stream"),
    ({"type": "latency", "toxicity": 1.5}, "toxicity"),
    ({"type": "latency", "toxicity": True}, "toxicity"),
    ({"type": "latency", "attributes": {"latency": -5}}, "attributes.latency"),
    ({"type": "latency", "attributes": {"latency": 1.5}}, "attributes.latency"),
    ({"type": "latency", "attributes": {"latnecy": 5}}, "latnecy"),
    ({"type": "bandwidth", "attributes": {"rate": "fast"}}, "attributes.rate"),
    ({"type": "slicer", "attributes": {"average_size": 10, "size_variation": 10}}, "attributes.size_variation"),
    ({"type": "timeout", "name": 5}, "name"),
    ({"type": "timeout", "colour": "red"}, "colour"),
    ({"type": "limit_data", "attributes": []}, "attributes"),
])
def test_bad_toxic_json_is_refused_naming_the_field(proxy: FaultProxy, toxic: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        proxy.add_toxic(toxic)

    assert proxy.toxics() == []


def test_toxics_are_added_updated_and_removed_by_name_on_live_connections(proxy: FaultProxy) -> None:
    added = proxy.add_toxic({"type": "latency", "attributes": {"latency": 100}})
    with pytest.raises(ValueError, match="already has a toxic named 'latency_downstream'"):
        proxy.add_toxic({"type": "latency"})

    with connect(proxy, "echo") as sock:
        proxy.update_toxic(added.name, {"attributes": {"latency": 250}})
        started = time.perf_counter()
        sock.sendall(b"ping")
        assert receive_exactly(sock, 4) == b"ping"
        assert time.perf_counter() - started >= 0.25

    assert [t.to_json() for t in proxy.toxics()] == [{"name": "latency_downstream", "type": "latency",
                                                      "stream": "downstream", "toxicity": 1.0,
                                                      "attributes": {"latency": 250, "jitter": 0}}]
    proxy.remove_toxic("latency_downstream")
    assert proxy.toxics() == []
    with pytest.raises(KeyError, match="latency_downstream"):
        proxy.remove_toxic("latency_downstream")


def test_reset_removes_every_toxic_and_enables(proxy: FaultProxy) -> None:
    proxy.add_toxic({"type": "latency", "attributes": {"latency": 1000}})
    proxy.add_toxic({"type": "timeout", "stream": "upstream"})
    proxy.disable()

    proxy.reset()

    assert proxy.to_json()["toxics"] == []
    assert proxy.enabled
    assert round_trip(proxy) >= 0


def test_control_from_many_threads_while_traffic_flows(proxy: FaultProxy) -> None:
    errors: list[BaseException] = []

    def churn(index: int) -> None:
        try:
            for round_ in range(20):
                name = f"t{index}-{round_}"
                proxy.add_toxic({"type": "latency", "name": name, "attributes": {"latency": 1}})
                proxy.remove_toxic(name)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=churn, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    received = [download(proxy, 2_000_000)[0] for _ in range(3)]
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert received == [2_000_000] * 3
    assert proxy.toxics() == []


def test_stop_closes_live_connections_and_leaves_no_thread_or_socket(upstream: Upstream) -> None:
    threads_before, files_before = threading.active_count(), _open_files()
    proxy = FaultProxy("short-lived", address_of(upstream)).start()
    proxy.add_toxic({"type": "timeout", "attributes": {"timeout": 0}})
    clients = [connect(proxy, "echo") for _ in range(3)]

    proxy.stop()

    assert not [thread for thread in threading.enumerate() if thread.name == "fault-proxy-short-lived"]
    for client in clients:
        with client:
            assert is_closed(client)
    # The upstream server's handler threads (and their sockets) end once they see the close.
    assert eventually(lambda: threading.active_count() == threads_before and _open_files() <= files_before)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=5).close()
    proxy.stop()  # twice is harmless


def _open_files() -> set[str]:
    """What this process's descriptors point at ("socket:[inode]"): unlike their numbers, never reused."""
    files = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):  # closed meanwhile, like the listing's own
            files.add(os.readlink(f"/proc/self/fd/{fd}"))
    return files


def test_addresses_must_be_loopback() -> None:
    with pytest.raises(ValueError, match="upstream must be a loopback address"):
        FaultProxy("x", "10.0.0.1:443")
    with pytest.raises(ValueError, match="listen must be a loopback address"):
        FaultProxy("x", "127.0.0.1:443", listen="0.0.0.0:0")
    with pytest.raises(RuntimeError, match="not running"):
        FaultProxy("x", "127.0.0.1:443").add_toxic({"type": "latency"})


def test_bandwidth_helper_speaks_toxiproxys_kilobytes() -> None:
    assert rate_from_mbit(8) == 1000
    assert rate_from_mbit(100) == 12_500
    assert bandwidth(1000, stream="upstream").to_json() == {
        "name": "bandwidth_upstream", "type": "bandwidth", "stream": "upstream", "toxicity": 1.0,
        "attributes": {"rate": 125_000}}


def test_model_toxics_divide_durations_and_sizes_by_the_scale_but_not_bandwidth() -> None:
    model = ModelToxics(Scale(1000))

    assert model.latency(40.0, jitter=2.0).attributes == {"latency": 40, "jitter": 2}
    assert model.bandwidth(100).attributes == {"rate": 12_500}
    assert model.timeout(120.0).attributes == {"timeout": 120}
    assert model.timeout(0.1).attributes == {"timeout": 1}  # never 0, which would mean "until removed"
    assert model.reset_peer(5.0).attributes == {"timeout": 5}
    assert model.limit_data(3_200_000_000).attributes == {"bytes": 3_200_000}
    assert model.slicer(1400, 200, 1.0).attributes == {"average_size": 1400, "size_variation": 200, "delay": 1000}


def test_update_keeps_what_it_does_not_name() -> None:
    toxic = Toxic.from_json({"type": "latency", "toxicity": 0.5, "attributes": {"latency": 10, "jitter": 3}})

    assert toxic.updated({"attributes": {"latency": 20}}).to_json() == {
        "name": "latency_downstream", "type": "latency", "stream": "downstream", "toxicity": 0.5,
        "attributes": {"latency": 20, "jitter": 3}}
    with pytest.raises(ValueError, match="stream cannot change"):
        toxic.updated({"stream": "upstream"})

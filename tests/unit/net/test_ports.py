import socket

import pytest

from harness.net.ports import free_ports


def test_every_name_gets_a_distinct_port_that_can_be_bound_at_once() -> None:
    names = [f"service-{index}" for index in range(40)]
    ports = free_ports(names)
    assert list(ports) == names
    assert len(set(ports.values())) == len(names)
    with socket.socket() as sock:  # as the services bind: SO_REUSEADDR, at once
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", ports["service-0"]))


def test_distinct_even_when_the_kernel_would_hand_a_released_port_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # A kernel that answers bind(0) with the lowest port it can bind hands a released port straight back;
    # holding every socket until all are chosen is what keeps the ports apart.
    original_bind = socket.socket.bind

    def lowest_free(self: socket.socket, address: tuple[str, int]) -> None:
        if address[1] != 0:
            return original_bind(self, address)
        for port in range(40000, 41000):
            try:
                return original_bind(self, (address[0], port))
            except OSError:  # held by this test, or by anything else on the machine
                continue
        raise OSError("no free port in 40000-40999")

    monkeypatch.setattr(socket.socket, "bind", lowest_free)
    ports = free_ports(["a", "b", "c"])
    assert len(set(ports.values())) == 3

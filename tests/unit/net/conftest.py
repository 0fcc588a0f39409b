"""Fixtures for the fault proxy's tests: a tiny threaded server on 127.0.0.1 (tests/unit/net/proxy_upstream.py),
and a proxy in front of it, reset for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.net.proxy import FaultProxy
from tests.unit.net.proxy_upstream import EchoHandler, Upstream, address_of, serving


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    server = Upstream(("127.0.0.1", 0), EchoHandler)
    server.received = []
    server.sending_since = []
    with serving(server):
        yield server


@pytest.fixture(scope="module")
def shared_proxy(upstream: Upstream) -> Iterator[FaultProxy]:
    with FaultProxy("service", address_of(upstream), seed=7) as proxy:
        yield proxy


@pytest.fixture
def proxy(shared_proxy: FaultProxy) -> FaultProxy:
    shared_proxy.reset()
    return shared_proxy

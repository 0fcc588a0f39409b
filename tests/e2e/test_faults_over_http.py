"""Body faults as a client over HTTP sees them, with the site app under uvicorn (h11, as `serve` runs it):
a truncated download is a short read on a closed connection, and uvicorn's complaint about the unfinished
response, which the fault caused on purpose, is not logged."""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from harness.clock.model_clock import ModelClock
from harness.emulators.site.app import create_app as create_site
from harness.model.units import Scale
from harness.net.tls import TestPKI
from harness.service.configs import SiteServiceConfig

FILE = "/SMS_DP_SMSPKG$/PS100011/content.bin"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[httpx.Client]:
    """The site app served over plain HTTP from a thread; uvicorn's log records reach caplog."""
    config = SiteServiceConfig.from_json({"tls": {"ca": str(TestPKI.create(tmp_path).ca_cert_path)},
              "clock": ModelClock.starting_now(Scale(5000)).to_json(), "key": secrets.token_bytes(32).hex(),
              "site_code": "PS1", "version": 2002, "mp_fqdn": "cm01.corp.contoso.example", "mp_port": 443,
              "cloud_sources": []})
    server = uvicorn.Server(uvicorn.Config(create_site(config), http="h11", lifespan="off", log_config=None,
                                           access_log=False))
    sock = socket.create_server(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=10) as client:
            _wait_until_up(client)
            client.put("/_harness/site/packages/PS100011", json={"name": "p", "size": "50 MB"}).raise_for_status()
            client.post("/_harness/site/packages/PS100011/distribute", json={"to": ["dp"]}).raise_for_status()
            yield client
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _wait_until_up(client: httpx.Client) -> None:
    for _ in range(200):
        try:
            client.get("/_harness/health")
            return
        except httpx.ConnectError:
            time.sleep(0.025)
    raise AssertionError("the server did not start")


def test_a_truncated_download_is_a_short_read_and_uvicorn_keeps_quiet(site: httpx.Client,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    site.post("/_harness/faults", json={"path": FILE, "kind": "truncate", "after_bytes": 1000}).raise_for_status()
    with caplog.at_level(logging.INFO, logger="uvicorn.error"), \
            pytest.raises(httpx.RemoteProtocolError, match="received 1000 bytes, expected 10000"):
        site.get(FILE)
    assert len(site.get(FILE).content) == 10000  # the next download is whole, on a new connection
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []

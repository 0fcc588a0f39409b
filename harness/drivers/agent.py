"""Drives emulated clients: create them, press Install, wait for the run to end."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from harness.clock.actor import Actor, NoActor
from harness.drivers.base import ServiceDriver
from harness.drivers.run import RunResult

LONG_POLL_SECONDS = 5.0  # each GET waits this long at most for the run's end (the agent answers at once when it ends)
SHORT_POLL_SECONDS = 0.02


class RunTimeout(AssertionError):
    pass


class AgentDriver(ServiceDriver):
    """`clock`: the caller's actor on a virtual clock (the scenario's), idle while `wait` polls; model time moves
    only while it is idle, so everything a scenario sets up before `wait` happens at one model instant."""

    service = "client agent"

    def __init__(self, http: httpx.Client, base: str, *, clock: Actor | NoActor | None = None) -> None:
        super().__init__(http, base)
        self.clock = clock or NoActor()

    def create_client(self, name: str, *, network: str, site_token: str | None = None,
                      cache_size: str | None = None, ad_site: str = "Default-First-Site-Name",
                      seed: int = 0, link: Mapping[str, Any] | None = None, **settings: bool) -> None:
        """Without a site token the client is a PKI client (the agent enrolls a certificate for it); `seed` seeds
        its random choices (which cloud source it tries first); `link` as for `set_link`."""
        body = {"name": name, "network": network, "settings": settings, "ad_site": ad_site,
                "auth": "token" if site_token else "pki", "site_token": site_token, "seed": seed, "link": link}
        self.call("POST", "/clients", {**body, **({"cache_size": cache_size} if cache_size else {})})

    def set_link(self, client: str, link: Mapping[str, Any] | None) -> dict[str, Any]:
        """The client's link from its next request on, in model units: {"down": "20 Mbit/s", "up": "5 Mbit/s",
        "latency": "80 ms", "jitter": "10 ms"} (only "down" is required); None: not shaped. Returns it as the
        agent reports it (Mbit/s and model seconds)."""
        path = f"/clients/{quote(client)}/link"
        state: dict[str, Any] = self.call("PUT", path, dict(link)) if link is not None else self.call("DELETE", path)
        return state

    def set_first_source(self, client: str, host: str | None) -> None:
        """The client tries this cloud source (host name) first in every content request instead of drawing the
        order; None: it draws again."""
        path = f"/clients/{quote(client)}/first-source"
        if host is None:
            self.call("DELETE", path)
        else:
            self.call("PUT", path, {"host": host})

    def install(self, client: str, deployment: str, launch_mode: str = "Software Center",
                trigger: str = "user") -> str:
        run: str = self.call("POST", f"/clients/{client}/installs",
                             {"deployment": deployment, "launch_mode": launch_mode, "trigger": trigger})["run"]
        return run

    def run_state(self, client: str, run: str, *, wait: float = 0.0) -> dict[str, Any]:
        """The run's state; `wait`: once it has ended, or after that many real seconds."""
        query = f"?wait={wait:.3f}" if wait > 0 else ""
        state: dict[str, Any] = self.call("GET", f"/clients/{client}/runs/{run}{query}")
        return state

    def log(self, client: str, run: str, name: str) -> str:
        text: str = self.call("GET", f"/clients/{client}/runs/{run}/logs/{name}")
        return text

    def run_logs(self, client: str, run: str) -> dict[str, str]:
        """Every log the run wrote, by file name."""
        texts: dict[str, str] = self.call("GET", f"/clients/{client}/runs/{run}/logs")
        return texts

    def file(self, client: str, windows_path: str) -> dict[str, Any]:
        info: dict[str, Any] = self.call("GET", f"/clients/{client}/files?path={quote(windows_path)}")
        return info

    def wait(self, client: str, run: str, timeout: float) -> RunResult:
        """Until the run ends (long polls: the agent answers as soon as it does); a run still going after `timeout`
        real seconds fails loudly."""
        deadline = time.monotonic() + timeout
        with self.clock.waiting():
            while True:
                asked, wait = time.monotonic(), min(LONG_POLL_SECONDS, max(0.0, deadline - time.monotonic()))
                if (state := self.run_state(client, run, wait=wait))["status"] != "running":
                    break
                if time.monotonic() > deadline:
                    raise RunTimeout(f"run {run} of client {client} still running after {timeout:.0f} s; "
                                     f"last events: {state['timeline'][-5:]}")
                if time.monotonic() - asked < wait / 2:
                    time.sleep(SHORT_POLL_SECONDS)  # an agent that answers at once (no long polls): poll gently
        return RunResult(state, self.run_logs(client, run))

"""What every environment gives a scenario: named endpoints, a fast reset, and a clean stop."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Self

import httpx

from harness.clock.model_clock import ModelClock
from harness.model.units import Scale

log = logging.getLogger("cmg_harness.environment")


@dataclass(frozen=True)
class ServiceEndpoint:
    name: str
    hostname: str
    port: int
    path: str = "/"
    zone: str = "internet"  # which clients can resolve the name: internet, intranet or control
    ip: str = "127.0.0.1"
    # The service's own port, behind the network's fault proxy on `port`: the control API is reached here so
    # that a link that is down or slow never stands between a scenario and the service it drives.
    control_port: int | None = None

    @property
    def base(self) -> str:
        return f"https://{self.hostname}:{self.port}"

    @property
    def control_base(self) -> str:
        return f"https://{self.hostname}:{self.control_port or self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}{self.path}"

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "address": self.address, "hostname": self.hostname, "zone": self.zone,
                "control_url": self.control_base}


@dataclass(frozen=True)
class Endpoints:
    environment: str
    scale: Scale  # model bytes (and, on the real clock, model seconds) per physical one
    ca_cert: Path
    services: dict[str, ServiceEndpoint]
    extra_hosts: tuple[tuple[str, str, str], ...] = ()  # (hostname, ip, zone) not tied to a service
    clock: str = "real"  # how model time passes: real (real time × scale) or virtual (the clock authority's)
    site_code: str = ""  # the site's, as clients are configured with it (empty: not known)

    def __getitem__(self, name: str) -> ServiceEndpoint:
        try:
            return self.services[name]
        except KeyError:
            raise KeyError(f"environment has no service {name!r}; it has {', '.join(self.services)}") from None

    def hosts(self, *zones: str) -> dict[str, str]:
        """hostname -> address for the given zones (all zones when none are named)."""
        entries = [(s.hostname, s.ip, s.zone) for s in self.services.values()] + list(self.extra_hosts)
        return {host: ip for host, ip, zone in entries if not zones or zone in zones}

    def to_json(self) -> dict[str, Any]:
        return {"environment": self.environment, "scale": self.scale.factor, "clock": self.clock,
                "ca_cert": str(self.ca_cert),
                "services": {name: s.to_json() for name, s in self.services.items()}}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)


# What an environment lets scenarios do beyond running clients against it.
CONTROL = "control"  # configure the emulated site, CMG and cloud DP through their control APIs (and reset them)
FAULTS = "faults"    # HTTP faults in the services and network faults in the proxies in front of them
ALL_CAPABILITIES = frozenset({CONTROL, FAULTS})


class Environment(Protocol):
    """up -> endpoints, reset between scenarios, down at the end (also on failure or interrupt)."""

    name: str
    model_scale: Scale  # the scale the services run at
    timings: dict[str, float]  # "start_s" at least, once up
    capabilities: frozenset[str]

    def up(self) -> Endpoints: ...

    @property
    def endpoints(self) -> Endpoints: ...

    @property
    def http(self) -> httpx.Client: ...

    @property
    def model_clock(self) -> ModelClock:
        """The model clock the environment's clients keep: real, or the virtual clock of its authority."""
        ...

    def reset(self) -> dict[str, float]: ...

    def down(self) -> None: ...


class RunningEnvironment:
    """What every environment does alike once `up()` has set `_endpoints` and `_http`: the two properties, and
    `with environment:` for up and a down that runs however the block ends."""

    name: str
    timings: dict[str, float]
    _endpoints: Endpoints | None
    _http: httpx.Client | None

    def up(self) -> Endpoints:
        """`_start()`, timed; whatever it started is stopped again if it fails or is interrupted."""
        started = time.perf_counter()
        try:
            self._endpoints = self._start()
        except BaseException:
            self.down()
            raise
        self.timings["start_s"] = time.perf_counter() - started
        log.info("%s environment up in %.2f s", self.name, self.timings["start_s"])
        return self._endpoints

    def _start(self) -> Endpoints:
        raise NotImplementedError

    def down(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.up()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.down()

    @property
    def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            raise RuntimeError("the environment is not up")
        return self._endpoints

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            raise RuntimeError("the environment is not up")
        return self._http

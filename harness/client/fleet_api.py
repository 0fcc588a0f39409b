"""The client agent's fleets: `POST /fleets` starts one, `GET /fleets/{name}?wait=S` reads it (harness/client/fleet.py).

    POST /fleets  {"name": "WAVE", "clients": 10000, "waves": {"size": 2000, "every_s": 1800, "spread_s": 0},
                   "mix": [{"network": "internet", "auth": "pki", "share": 1.0}], "seed": 0,
                   "packages": [{"id": "PS100012", "version": 1}], "needed": ["PS100012"],
                   "download_all": false, "site_token": "…", "cohort_limit": 2000, "tick_s": 1}

A fleet needs the virtual clock: its clients wait on model time, never real time.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.client.fleet import FleetRun, FleetSpec, Package
from harness.model.fleet import ClientKind, Population, Waves
from harness.service.control import HttpError, read_json

NAME = re.compile(r"[A-Z][A-Z0-9-]{0,11}")
_FIELDS = {"name", "clients", "waves", "mix", "seed", "packages", "needed", "download_all", "site_token",
           "cohort_limit", "tick_s"}


def parse_spec(body: Any) -> FleetSpec:
    """A fleet from POST /fleets's body; ValueError naming what is wrong."""
    if not isinstance(body, dict) or set(body) - _FIELDS:
        raise ValueError(f"a fleet is a JSON object of {', '.join(sorted(_FIELDS))}")
    name = body.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"'name' must be 1 to 12 capital letters, digits and -, starting with a letter: {name!r}")
    waves = body.get("waves") or {}
    if not isinstance(waves, dict):
        raise ValueError("'waves' must be an object: size, every_s, spread_s")
    mix = body.get("mix") or [{"network": "internet", "auth": "pki", "share": 1.0}]
    if not isinstance(mix, list):
        raise ValueError("'mix' must be a list of {network, auth, share}")
    clients = _int(body.get("clients"), "clients")
    population = Population(
        clients, Waves(_int(waves.get("size", clients), "waves.size"), _float(waves.get("every_s", 0), "waves.every_s"),
                       _float(waves.get("spread_s", 0), "waves.spread_s")),
        tuple((ClientKind(str(m.get("network", "internet")), str(m.get("auth", "pki"))),
               _float(m.get("share"), "mix.share")) for m in mix),
        seed=_int(body.get("seed", 0), "seed"), prefix=name)
    packages = tuple(Package(str(p["id"]), _int(p.get("version", 1), "packages.version"))
                     for p in body.get("packages") or [])
    if not packages:
        raise ValueError("'packages' must list the task sequence's packages: [{id, version}]")
    needed = tuple(str(n) for n in body.get("needed") or [packages[0].package_id])
    token = body.get("site_token")
    return FleetSpec(name, population, packages, needed, download_all=bool(body.get("download_all", False)),
                     site_token=str(token) if token else None,
                     cohort_limit=_int(body.get("cohort_limit", 2000), "cohort_limit"),
                     tick_s=_float(body.get("tick_s", 1.0), "tick_s"))


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"'{name}' must be a whole number, not {value!r}")
    return value


def _float(value: Any, name: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"'{name}' must be a number, not {value!r}")
    return float(value)


class Fleets:
    """The agent's fleets by name; a reset stops them."""

    def __init__(self, start: Any) -> None:
        self._start = start  # spec -> FleetRun, not started
        self._fleets: dict[str, FleetRun] = {}
        self._lock = threading.Lock()

    async def create(self, request: Request) -> Response:
        try:
            spec = parse_spec(await read_json(request))
        except ValueError as error:
            raise HttpError(400, str(error)) from None
        with self._lock:
            if spec.name in self._fleets:
                raise HttpError(409, f"a fleet named {spec.name!r} already exists")
            fleet = self._start(spec)
            self._fleets[spec.name] = fleet
        threading.Thread(target=fleet.run, name=f"fleet-{spec.name}", daemon=True).start()
        return JSONResponse({"fleet": spec.name}, status_code=202)

    async def read(self, request: Request) -> Response:
        fleet = self._fleets.get(request.path_params["name"])
        if fleet is None:
            raise HttpError(404, f"no fleet named {request.path_params['name']!r}; start one with POST /fleets")
        wait = request.query_params.get("wait")
        seconds = min(30.0, max(0.0, float(wait))) if wait and wait.replace(".", "", 1).isdigit() else 0.0
        if seconds and not fleet.done.is_set():
            await anyio.to_thread.run_sync(functools.partial(fleet.done.wait, seconds))
        return JSONResponse(fleet.to_json())

    def reset(self) -> None:
        with self._lock:
            fleets, self._fleets = list(self._fleets.values()), {}
        for fleet in fleets:
            fleet.stop()
        for fleet in fleets:
            fleet.done.wait(10)

    def routes(self) -> list[Route]:
        return [Route("/fleets", self.create, methods=["POST"]),
                Route("/fleets/{name}", self.read, methods=["GET"])]

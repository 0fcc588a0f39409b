"""The client agent process: hosts emulated clients and lets scenarios drive them over HTTP.

    POST /clients                                  {"name", "network", "settings", "site_token", "seed", "link"}
    GET  /clients
    PUT  /clients/{name}/link                      {"down": "20 Mbit/s", "up", "latency": "80 ms", "jitter"}
    DELETE /clients/{name}/link                    the client's link is not shaped again
    POST /clients/{name}/installs                  {"deployment", "launch_mode", "trigger"} -> 202 {"run"}
                                                   trigger: user (Install), deadline, pre-cache
    GET  /clients/{name}/runs/{run}[?wait=S]       status, exit code, timeline, variables; `wait`: answer once
                                                   the run has ended, or after S real seconds (at most 30)
    GET  /clients/{name}/runs/{run}/logs           every log the run wrote: {"smsts.log": text, …}
    GET  /clients/{name}/runs/{run}/logs/{log}     a CMTrace log file (smsts.log, execmgr.log, …)
    GET  /clients/{name}/files?path=C:\\…          whether a file or folder exists on the client's disk

The clients reach the site, the CMG and storage only over the network, through a resolver that
knows only the names their network location can see.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import tempfile
import threading
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from harness.client.channel import SiteEndpoints
from harness.client.client import EmulatedClient
from harness.client.clocked_net import NETWORK, ClockedBackend
from harness.client.engine import TaskSequenceRun
from harness.client.fleet import FleetRun, FleetSpec
from harness.client.fleet_api import Fleets
from harness.client.identity import SigningKeys, new_signing_identity
from harness.client.link import LinkProfile, LinkTiming, link_layer
from harness.clock.model_clock import ModelClock
from harness.clock.participant import Participant
from harness.model.client_settings import DEFAULT_CACHE_SIZE, CloudServicesSettings, NetworkLocation
from harness.model.deployment import LaunchMode, Trigger
from harness.model.units import parse_size
from harness.net.handshake import HandshakeMarking
from harness.net.http import make_client
from harness.net.tls import ClientCertIssuer, ServerCert
from harness.service.app import service_app
from harness.service.configs import AgentServiceConfig
from harness.service.control import (
    ControlPlane,
    HttpError,
    read_json,
)

RUN_JOIN_SECONDS = 10.0


class ClientAuth(Enum):
    """How a client authenticates to the CMG (B-06): a PKI client certificate or a site-issued token."""

    PKI = "pki"
    TOKEN = "token"


@dataclass(frozen=True)
class AgentConfig:
    endpoints: SiteEndpoints
    zones: dict[str, dict[str, str]]  # "internet" / "intranet" -> hostname -> address
    ca_cert: Path
    clock: ModelClock
    workdir: Path
    issuer: ClientCertIssuer  # enrolls PKI clients
    # Default client settings; "Allow access to cloud distribution point" is configurable because the
    # docs disagree on its default (B-13).
    default_settings: CloudServicesSettings = field(default_factory=CloudServicesSettings)


class Agent:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.clients: dict[str, EmulatedClient] = {}
        self.runs: dict[str, TaskSequenceRun] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._keys = SigningKeys()
        self.fleets = Fleets(self._new_fleet)

    def _new_fleet(self, spec: FleetSpec) -> FleetRun:
        if self.config.clock.virtual is None:
            raise HttpError(409, "a fleet runs on the virtual clock: start the environment with --clock virtual")
        return FleetRun(spec, self.config.endpoints, self.config.zones, self.config.ca_cert, self.config.clock,
                        self.config.issuer)

    def add_client(self, name: str, network: NetworkLocation, settings: CloudServicesSettings,
                   site_token: str | None, cache_size: int = DEFAULT_CACHE_SIZE,
                   ad_site: str = "Default-First-Site-Name", seed: int = 0,
                   link: LinkProfile | None = None) -> EmulatedClient:
        """A client with a site-issued token authenticates with it; without one it gets a PKI certificate."""
        with self._lock:
            if name in self.clients:
                raise HttpError(409, f"a client named {name!r} already exists")
            root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.config.workdir))
            cert = None
            if site_token is None:
                issued = self.config.issuer.issue(name)
                cert = (issued.cert_path, issued.key_path)
            wrap, shaper_of = link_layer(self.config.clock.scale, seed=f"{name}/{seed}", profile=link,
                                         timing=LinkTiming.of(self.config.clock))
            backend = ClockedBackend() if self.config.clock.mode == "virtual" else HandshakeMarking()
            http = make_client(self._hosts_for(network), self.config.ca_cert, timeout=60.0, cert=cert, wrap=wrap,
                               network_backend=backend)
            shaper = shaper_of()
            identity = new_signing_identity(name, self.config.clock.now(), self._keys.key_for(name))
            client = EmulatedClient(name, network, settings, site_token, root, http, cache_size=cache_size,
                                    ad_site=ad_site, identity=identity, seed=seed, link=shaper)
            self.clients[name] = client
            return client

    def _hosts_for(self, network: NetworkLocation) -> dict[str, str]:
        # An intranet client sees the intranet names and the internet ones; an internet client only
        # the internet's. That is all "being on the internet" means to the client (B-11).
        hosts = dict(self.config.zones.get("internet", {}))
        if network is NetworkLocation.INTRANET:
            hosts.update(self.config.zones.get("intranet", {}))
        return hosts

    def client(self, name: str) -> EmulatedClient:
        client = self.clients.get(name)
        if client is None:
            raise HttpError(404, f"no client named {name!r}; create it with POST /clients")
        return client

    def start_run(self, client: EmulatedClient, deployment_id: str, launch: LaunchMode,
                  trigger: Trigger = Trigger.USER) -> TaskSequenceRun:
        with self._lock:
            if any(r.client is client and not r.done.is_set() for r in self.runs.values()):
                raise HttpError(409, f"client {client.name} is already running a task sequence")
            run_id = f"{client.name}-{next(self._ids)}"
            # Named by client and its own count of runs, never by the agent's counter: a wake-up tie between two
            # clients' runs goes by name, and the same scenario must name them the same wherever it runs.
            ordinal = sum(1 for r in self.runs.values() if r.client is client) + 1
            actor = self.config.clock.join(f"client/{client.name}/run/{ordinal}", queued=True, settles=True)
            run = TaskSequenceRun(run_id, client, deployment_id, launch, self.config.endpoints, self.config.clock,
                                  trigger, actor=actor)
            self.runs[run_id] = run
        threading.Thread(target=run.run, name=f"ts-{run_id}", daemon=True).start()
        return run

    def run(self, client: str, run_id: str) -> TaskSequenceRun:
        run = self.runs.get(run_id)
        if run is None or run.client.name != client:
            raise HttpError(404, f"client {client!r} has no run {run_id!r}")
        return run

    def reset(self) -> None:
        self.fleets.reset()
        with self._lock:
            runs, clients = list(self.runs.values()), list(self.clients.values())
            self.runs, self.clients = {}, {}
        for run in runs:
            run.stop()
        for run in runs:
            run.done.wait(RUN_JOIN_SECONDS)
        for client in clients:
            client.wipe()
        self._keys.release_all()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"clients": {c.name: {"network": c.network.value, "client_id": c.client_id or None,
                                         "link": _link_json(c)} for c in self.clients.values()},
                    "runs": {r.run_id: r.outcome.status for r in self.runs.values()}}


class AgentService:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    async def create_client(self, request: Request) -> Response:
        body = await _object(request)
        name = str(body.get("name", "")).strip()
        # ASCII and short: the name also names the client's directory.
        if not name or len(name) > 63 or not (name.isascii() and name.replace("-", "").isalnum()):
            raise HttpError(400, "'name' must be a computer name (up to 63 letters, digits and '-')")
        network = _enum(NetworkLocation, body.get("network", "internet"), "network")
        settings = _settings(body.get("settings", {}), self.agent.config.default_settings)
        auth = _enum(ClientAuth, body.get("auth", ClientAuth.PKI.value), "auth")
        token = body.get("site_token")
        if auth is ClientAuth.TOKEN and (not isinstance(token, str) or not token):
            raise HttpError(400, "'site_token' is required for token authentication: the site-issued token the "
                                 "client registers with")
        if auth is ClientAuth.PKI:
            token = None
        ad_site = body.get("ad_site", "Default-First-Site-Name")
        if not isinstance(ad_site, str) or not ad_site.strip() or len(ad_site) > 64:
            raise HttpError(400, "'ad_site' must be an Active Directory site name")
        client = self.agent.add_client(name, network, settings, token, _cache_size(body.get("cache_size")),
                                       ad_site.strip(), _seed(body.get("seed", 0)), _link(body.get("link")))
        # client_id is null until the client registers, before its first policy request.
        return JSONResponse({"name": client.name, "client_id": client.client_id or None, "network": network.value,
                             "auth": client.auth, "link": _link_json(client)}, status_code=201)

    async def set_link(self, request: Request) -> Response:
        """Requests that start after this use the new link; transfers under way finish on the old one."""
        client = self.agent.client(request.path_params["name"])
        if client.link is None:
            raise HttpError(409, f"client {client.name} has no link layer to shape")
        client.link.profile = _link(await read_json(request)) if request.method == "PUT" else None
        return JSONResponse({"name": client.name, "link": _link_json(client)})

    async def set_first_source(self, request: Request) -> Response:
        """PUT {"host": "<cloud source's host name>"}: the client tries that cloud source first in every content
        request from now on, instead of drawing the order; DELETE: it draws again."""
        client = self.agent.client(request.path_params["name"])
        if request.method == "PUT":
            body = await _object(request)
            host = body.get("host")
            if not isinstance(host, str) or not _HOST_NAME.fullmatch(host):
                raise HttpError(400, "'host' must be the host name of a cloud source, e.g. "
                                     "\"contosocdp.cloudapp.example\"")
            client.first_source = host.lower()
        else:
            client.first_source = None
        return JSONResponse({"name": client.name, "first_source": client.first_source})

    async def list_clients(self, request: Request) -> Response:
        return JSONResponse(self.agent.snapshot()["clients"])

    async def install(self, request: Request) -> Response:
        client = self.agent.client(request.path_params["name"])
        body = await _object(request)
        deployment = body.get("deployment")
        if not isinstance(deployment, str) or not deployment:
            raise HttpError(400, "'deployment' (the deployment ID) is required")
        try:
            launch = LaunchMode.parse(str(body.get("launch_mode", "Software Center")))
        except ValueError as error:
            raise HttpError(400, str(error)) from None
        trigger = _enum(Trigger, body.get("trigger", Trigger.USER.value), "trigger")
        run = self.agent.start_run(client, deployment, launch, trigger)
        return JSONResponse({"run": run.run_id}, status_code=202)

    async def get_run(self, request: Request) -> Response:
        run = self.agent.run(request.path_params["name"], request.path_params["run"])
        wait = _wait_seconds(request.query_params.get("wait"))
        if wait and not run.done.is_set():
            # The agent's own API is the scenario's, not the world's: its requests never hold model time still.
            await anyio.to_thread.run_sync(functools.partial(run.done.wait, wait))
        return JSONResponse(run.to_json())

    async def get_logs(self, request: Request) -> Response:
        """All of them in one answer: a scenario's report attaches every log of every run, and one request for each
        was a tenth of the test process's work."""
        run = self.agent.run(request.path_params["name"], request.path_params["run"])
        return JSONResponse({name: run.logs.text(name) for name in run.logs.names()})

    async def get_log(self, request: Request) -> Response:
        run = self.agent.run(request.path_params["name"], request.path_params["run"])
        log = request.path_params["log"]
        if log not in run.logs.names() and log not in ("smsts.log", "execmgr.log"):
            raise HttpError(404, f"run {run.run_id} has no log {log!r}; it has {', '.join(run.logs.names())}")
        return PlainTextResponse(run.logs.text(log))

    async def get_file(self, request: Request) -> Response:
        """What is at a path on the client's disk: ?path=C:\\Windows\\CCM\\Logs\\smsts.log"""
        client = self.agent.client(request.path_params["name"])
        windows_path = request.query_params.get("path", "")
        try:
            local = client.local_path(windows_path)
        except ValueError as error:
            raise HttpError(400, str(error)) from None
        try:
            entries = sorted(p.name for p in local.iterdir()) if local.is_dir() else []
            found = {"exists": local.exists(), "is_dir": local.is_dir(),
                     "size": local.stat().st_size if local.is_file() else None}
        except OSError as error:  # e.g. a name longer than the disk allows
            raise HttpError(400, f"path {windows_path[:80]!r} cannot be looked up: {error.strerror}") from None
        return JSONResponse({"path": windows_path, **found, "entries": entries})

    def routes(self) -> list[Route]:
        return [
            Route("/clients/{name}/files", self.get_file, methods=["GET"]),
            Route("/clients", self.create_client, methods=["POST"]),
            Route("/clients", self.list_clients, methods=["GET"]),
            Route("/clients/{name}/installs", self.install, methods=["POST"]),
            Route("/clients/{name}/link", self.set_link, methods=["PUT", "DELETE"]),
            Route("/clients/{name}/first-source", self.set_first_source, methods=["PUT", "DELETE"]),
            Route("/clients/{name}/runs/{run}", self.get_run, methods=["GET"]),
            Route("/clients/{name}/runs/{run}/logs", self.get_logs, methods=["GET"]),
            Route("/clients/{name}/runs/{run}/logs/{log}", self.get_log, methods=["GET"]),
            *self.agent.fleets.routes(),
        ]


def _settings(data: Any, defaults: CloudServicesSettings) -> CloudServicesSettings:
    if not isinstance(data, dict):
        raise HttpError(400, "'settings' must be an object")
    known = {"enable_cmg", "allow_cloud_dp", "always_on_internet"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise HttpError(400, f"unknown client setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if not all(isinstance(v, bool) for v in data.values()):
        raise HttpError(400, "client settings take true or false")
    return replace(defaults, **data)


def _cache_size(value: Any) -> int:
    """"Maximum cache size" in model units, e.g. "5120 MB" (default) or a number of bytes."""
    if value is None:
        return DEFAULT_CACHE_SIZE
    try:
        size = parse_size(value) if isinstance(value, str) else int(value)
    except (TypeError, ValueError) as error:
        raise HttpError(400, f"'cache_size' must be a size such as '5120 MB': {error}") from None
    if size <= 0:
        raise HttpError(400, "'cache_size' must be positive")
    return size


MAX_WAIT_SECONDS = 30.0
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")  # RFC 1123 host names


def _wait_seconds(value: str | None) -> float:
    """`?wait=S` of a run's GET: real seconds to wait for its end, 0 to 30 (none: answer at once)."""
    if value is None:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_WAIT_SECONDS:
        raise HttpError(400, f"'wait' must be a number of seconds from 0 to {MAX_WAIT_SECONDS:g}, not {value!r}")
    return seconds


def _seed(value: Any) -> int:
    """The seed of the client's random choices: the same seed, client and deployment give the same run."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise HttpError(400, "'seed' must be a whole number from 0 to 2**63 - 1")
    return value


def _link(value: Any) -> LinkProfile | None:
    """A link in model units, {"down": "20 Mbit/s", "latency": "80 ms"} (see LinkProfile.from_json); null: none."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise HttpError(400, "'link' must be an object such as {\"down\": \"20 Mbit/s\", \"latency\": \"80 ms\"}")
    try:
        return LinkProfile.from_json(value)
    except ValueError as error:
        raise HttpError(400, f"'link': {error}") from None


def _link_json(client: EmulatedClient) -> dict[str, Any] | None:
    profile = client.link_profile
    return None if profile is None else {**profile.to_json(), "text": profile.describe()}


def _enum(kind: Any, value: Any, name: str) -> Any:
    try:
        return kind(str(value))
    except ValueError:
        raise HttpError(400, f"{name!r} must be one of {', '.join(m.value for m in kind)}") from None


async def _object(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise HttpError(400, "request body must be a JSON object")
    return body


def create_app(config: AgentServiceConfig) -> Starlette:
    workdir = Path(config.workdir or tempfile.mkdtemp(prefix="cmg-clients-"))
    workdir.mkdir(parents=True, exist_ok=True)
    enrollment = ServerCert(Path(config.enrollment.cert), Path(config.enrollment.key))
    agent = Agent(AgentConfig(config.endpoints, config.zones, config.ca_path, config.model_clock, workdir,
                              ClientCertIssuer(enrollment, workdir / "certificates"), config.default_settings))
    control = ControlPlane("client", agent, clock=agent.config.clock)
    app = service_app(control, AgentService(agent).routes(), agent=agent)
    virtual = agent.config.clock.virtual
    if virtual is not None:  # the runs' reads, for the virtual clock's question "is the world quiet?"
        app.state.participant = Participant(virtual.authority, "client", NETWORK.report)
    return app

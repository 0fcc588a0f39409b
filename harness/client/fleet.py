"""A fleet: thousands of clients of one deployment on the virtual clock, carried as cohorts.

The population (harness/model/fleet.py) says who starts when; clients of one kind that start in the same tick
are one cohort, and each of its requests stands for all of them (X-Harness-Fleet-Clients,
harness/protocol/fleet_headers.py). A cohort's path is the content's through the CMG, with the harness's own
client code: a content location request for each package (its CCM token first, for token clients), the cloud
manifest from the CMG's content service, then every file from storage by its SAS URL. The services count every
member and answer at once, saying when each member's answer is done in model time; the cohort parts where
its members' answers come at different times.

One actor of the virtual clock runs the whole fleet, on one thread: it sends what is due (the services answer
without holding model time), then sleeps to the next time something is due. What is due at one moment goes out
one request at a time, in a fixed order: the requests contend for the same places and the same file, and an order
that depended on threads would give the same seed a different timeline on another run.

[INFERENCE] A request takes no model time of its own beyond what the services' capacity rules add: the fleet
measures waiting for the CMG and for storage, not links.

Intranet clients take their own path: the management point directly, then the package from their first
distribution point (its WebDAV listing, then each file); nothing of theirs reaches the CMG.

The upgrade step starts when the content it needs is there: on demand, its own package; with "Download all
content locally before starting task sequence", every package of the task sequence first.
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from defusedxml import ElementTree

from harness.client.channel import ChannelError, ManagementChannel
from harness.client.logs import ClientLogs
from harness.client.sources import CLOUD
from harness.clock.actor import Actor, ClockCancelled, NoActor
from harness.clock.model_clock import ModelClock
from harness.model.errors import http_error
from harness.model.fleet import ClientKind, Cohort, Population, cohorts, plan
from harness.net.http import make_client
from harness.net.tls import ClientCertIssuer
from harness.protocol.errors import ProtocolError
from harness.protocol.fleet_headers import FLEET_CLIENTS, MODEL_DONE, read_done
from harness.protocol.location import ContentLocationRequest
from harness.protocol.manifest import parse_manifest
from harness.service.configs import SiteEndpoints

_COHORT: contextvars.ContextVar[_Sending | None] = contextvars.ContextVar("cohort", default=None)
TICK_S = 1.0
# The clock counts whole microseconds: a wake-up closer than that is now (a sleep for less would return at once,
# with the clock where it was).
RESOLUTION_S = 1e-6


@dataclass(frozen=True)
class Package:
    package_id: str
    version: int = 1


@dataclass(frozen=True)
class FleetSpec:
    name: str
    population: Population
    packages: tuple[Package, ...]  # every package of the task sequence
    needed: tuple[str, ...]  # those the upgrade step needs (on demand: only these are downloaded)
    download_all: bool = False
    site_token: str | None = None  # token clients' site-issued token
    cohort_limit: int = 2000
    tick_s: float = TICK_S


@dataclass
class Group:
    """Members of a cohort at the same point of their path at the same time."""

    kind: ClientKind
    members: tuple[str, ...]
    start_s: float
    step: int = 0  # index into the path (FleetRun._path)
    downloaded: int = 0  # model bytes, each member
    cmg_wait_s: float = 0.0  # the CMG's answers' time, each member: its places and their waits
    error: str | None = None
    step_start_s: float | None = None
    end_s: float | None = None
    content_s: float | None = None  # when its last package's files began to come
    reply: Any = None  # the package's content location reply, between its parts
    files: tuple[str, ...] = ()  # the package's file URLs, from its manifest

    def part(self, members: tuple[str, ...]) -> Group:
        return Group(self.kind, members, self.start_s, self.step, self.downloaded, self.cmg_wait_s,
                     content_s=self.content_s, reply=self.reply, files=self.files)

    def to_json(self) -> dict[str, Any]:
        return {"kind": {"network": self.kind.network, "auth": self.kind.auth}, "members": list(self.members),
                "start_s": _ms(self.start_s), "step_start_s": _ms(self.step_start_s), "end_s": _ms(self.end_s),
                "content_s": _ms(self.content_s), "downloaded_bytes": self.downloaded,
                "cmg_wait_s": round(self.cmg_wait_s, 3), "error": self.error}


class CohortHeaders(httpx.BaseTransport):
    """Adds the group's size to each request it sends and keeps each answer's done offsets (one per member)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        sending = _COHORT.get()
        if sending is not None:
            request.headers[FLEET_CLIENTS] = str(sending.size)
        response = self._inner.handle_request(request)
        if sending is not None and MODEL_DONE in response.headers:
            sending.answers.append(read_done(response.headers[MODEL_DONE]))
        return response

    def close(self) -> None:
        self._inner.close()


@dataclass
class _Sending:
    """What the requests of one part of a group's path carry, and what their answers said."""

    size: int
    answers: list[list[float]] = field(default_factory=list)

    def done(self) -> list[float]:
        """When each member is through this part: its latest answer."""
        return [max(times) for times in zip(*self.answers, strict=True)] if self.answers else [0.0] * self.size


class FleetRun:
    def __init__(self, spec: FleetSpec, endpoints: SiteEndpoints, zones: dict[str, dict[str, str]], ca: Path,
                 clock: ModelClock, issuer: ClientCertIssuer) -> None:
        """`zones`: the names internet clients resolve ("internet") and those intranet clients resolve as well."""
        self.spec, self.endpoints, self.clock = spec, endpoints, clock
        self.done = threading.Event()
        self.groups: list[Group] = []
        self.error: str | None = None
        self._cancel = threading.Event()
        cert = issuer.issue(f"{spec.name}-PKI")
        internet = dict(zones.get("internet", {}))
        intranet = {**internet, **zones.get("intranet", {})}
        self._http = {"pki": make_client(internet, ca, timeout=60.0, cert=(cert.cert_path, cert.key_path),
                                         wrap=CohortHeaders),
                      "token": make_client(internet, ca, timeout=60.0, wrap=CohortHeaders),
                      "intranet": make_client(intranet, ca, timeout=60.0, wrap=CohortHeaders)}
        self._channels: dict[str, ManagementChannel] = {}
        self._actor: Actor | NoActor = NoActor()
        self._started = 0.0  # the fleet's start, in model seconds since the epoch

    # -- the schedule ----------------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._actor = self.clock.join(f"fleet/{self.spec.name}", queued=True)
            self._actor.turn()
            self._schedule()
        except ClockCancelled:
            self.error = "the fleet was stopped (the environment was reset)"
        except Exception as error:  # the scenario reads it from GET /fleets/{name}
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self._actor.close()
            for client in self._http.values():
                client.close()
            self.done.set()

    def _schedule(self) -> None:
        started = self._started = self.clock.seconds()
        planned = cohorts(plan(self.spec.population), tick_s=self.spec.tick_s, limit=self.spec.cohort_limit)
        order = itertools.count()
        queue: list[tuple[float, int, Group]] = [(c.start_s, next(order), _group(c)) for c in planned]
        heapq.heapify(queue)
        while queue and not self._cancel.is_set():
            now = self.clock.seconds() - started
            if queue[0][0] > now + RESOLUTION_S:
                self._actor.sleep(queue[0][0] - now)
                now = self.clock.seconds() - started
            while queue and queue[0][0] <= now + RESOLUTION_S:  # in (time, order): the same every run
                group = heapq.heappop(queue)[2]
                parts = self._advance(group, now)
                if not parts:
                    self.groups.append(group)
                for after, part in parts:
                    heapq.heappush(queue, (now + after, next(order), part))

    def stop(self) -> None:
        self._cancel.set()
        self._actor.cancel()

    # -- a group's path ------------------------------------------------------------------------------------

    def _path(self) -> list[tuple[str, Package]]:
        """Each package's parts in turn: located, its manifest, its files."""
        packages = self.spec.packages if self.spec.download_all else \
            tuple(p for p in self.spec.packages if p.package_id in self.spec.needed)
        return [(part, package) for package in packages for part in ("locate", "manifest", "files")]

    def _advance(self, group: Group, now: float) -> list[tuple[float, Group]]:
        """One part of the group's path; its members, parted by when they are through, and when each part is
        due next; nothing once the group is done (the upgrade step starts) or failed."""
        path = self._path()
        if group.step >= len(path):
            group.step_start_s = group.end_s = now
            return []
        sending = _Sending(len(group.members))
        token = _COHORT.set(sending)
        try:
            self._do(group, *path[group.step])
        except (ChannelError, _Failed) as error:
            group.error, group.end_s = f"0x{error.hresult & 0xFFFFFFFF:08X}", now
            return []
        finally:
            _COHORT.reset(token)
        group.step += 1
        done = [math.ceil(offset / self.spec.tick_s - 1e-9) * self.spec.tick_s for offset in sending.done()]
        parts: dict[float, list[str]] = {}
        for member, after in zip(group.members, done, strict=True):
            parts.setdefault(after, []).append(member)
        out = []
        for after, members in parts.items():
            part = group.part(tuple(members))
            if path[group.step - 1][0] != "files":
                part.cmg_wait_s += after
            out.append((after, part))
        return out

    def _do(self, group: Group, part: str, package: Package) -> None:
        internet = group.kind.network == "internet"
        http = self._http[group.kind.auth if internet else "intranet"]
        if part == "locate":
            group.reply = self._channel(group.kind).locate(ContentLocationRequest(
                package.package_id, package.version, self.endpoints.site_code, use_azure=True,
                use_internet_dp=internet))
        elif part == "manifest" and not internet:
            group.files = self._dp_files(http, package, group.reply.records)
        elif part == "manifest":
            cloud = [record for record in group.reply.records if record.dp_type == CLOUD]
            if not cloud:
                raise _Failed(0x87D00607, f"no cloud content location for {package.package_id}")
            token = group.reply.access_token
            manifest = http.get(cloud[0].url, headers={"Authorization": f"Bearer {token}"} if token else {})
            _check(manifest)
            try:
                group.files = tuple(f.url for f in parse_manifest(manifest.text).files)
            except ProtocolError as error:
                raise _Failed(0x87D0027E, f"Error retrieving manifest: {error}") from None
        else:
            group.content_s = self.clock.seconds() - self._started
            for url in group.files:
                answer = http.get(url)
                _check(answer)
                group.downloaded += round(len(answer.content) * self.clock.scale.factor)

    def _dp_files(self, http: httpx.Client, package: Package, records: Sequence[Any]) -> tuple[str, ...]:
        """An intranet client's listing of the package on its first distribution point (WebDAV, as DTS asks)."""
        if not records:
            raise _Failed(0x87D00607, f"no content location for {package.package_id}")
        url = records[0].url
        listing = http.request("PROPFIND", url, headers={"Depth": "1"})
        _check(listing)
        base = urlsplit(url)
        prefix = base.path.rstrip("/") + "/"
        try:
            hrefs = [e.text or "" for e in ElementTree.fromstring(listing.text).iter("{DAV:}href")]
        except ElementTree.ParseError as error:
            raise _Failed(0x80004005, f"unreadable PROPFIND listing from {url}: {error}") from None
        return tuple(f"{base.scheme}://{base.netloc}{h}" for h in hrefs if h.startswith(prefix) and h != prefix)

    def _channel(self, kind: ClientKind) -> ManagementChannel:
        """Internet clients reach the site through the CMG (PKI or token); intranet ones reach its MP."""
        key = kind.auth if kind.network == "internet" else "intranet"
        if key not in self._channels:
            token = self.spec.site_token if key == "token" else None
            if key == "token" and token is None:
                raise _Failed(0x80070057, "token clients need the fleet's site_token")
            self._channels[key] = ManagementChannel(
                client=f"{self.spec.name}-{key.upper()}", http=self._http[key], endpoints=self.endpoints,
                on_internet=key != "intranet", site_token=token, logs=ClientLogs(self.clock.now),
                model_now=self.clock.now)
        return self._channels[key]

    def to_json(self) -> dict[str, Any]:
        return {"fleet": self.spec.name, "state": "done" if self.done.is_set() else "running", "error": self.error,
                "clients": self.spec.population.clients, "groups": [g.to_json() for g in self.groups]}


def _ms(seconds: float | None) -> float | None:
    """Model seconds to the millisecond: the clock counts microseconds, and a float of them carries noise."""
    return None if seconds is None else round(seconds, 3)


class _Failed(Exception):
    def __init__(self, hresult: int, message: str) -> None:
        super().__init__(message)
        self.hresult = hresult


def _check(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise _Failed(http_error(response.status_code), f"HTTP {response.status_code} from {response.url}")


def _group(cohort: Cohort) -> Group:
    return Group(cohort.kind, cohort.members, cohort.start_s)


__all__ = ["FleetRun", "FleetSpec", "Group", "Package"]

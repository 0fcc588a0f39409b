"""The Locust users of `cmg-harness load`. Run by Locust in a process of its own (it monkey-patches with gevent on
import), with the target file in CMG_HARNESS_LOAD_TARGET:

    locust -f harness/load/locustfile.py --headless -u 200 -r 50 -t 60s EmulatedClientUser

- `EmulatedClientUser`: one emulated internet client each, with the harness's own client code (its messaging
  channel and location request): every task is one client flow through the CMG — registration, policy
  assignments, the task sequence's policy, a content location request per package, and the content download (the
  manifest from the CMG's content service, then each file from storage by its SAS URL, read to the end). Each
  request is a Locust request named after its part of the flow; the whole flow is one more, of type FLOW.
- `MinimalUser`: Locust's own FastHttpUser asking the CMG's health URL over and over: what Locust alone drives
  against the same service, the benchmark's baseline.
"""

from __future__ import annotations

import contextvars
import json
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from locust import FastHttpUser, User, events, task
from locust.runners import WorkerRunner

from harness.client.channel import ManagementChannel
from harness.client.identity import new_signing_identity
from harness.client.logs import ClientLogs
from harness.client.sources import CLOUD
from harness.load.target import STATS_ENV, TARGET_ENV, LoadTarget, TargetError
from harness.net.http import make_client
from harness.net.tls import ClientCertIssuer, ServerCert
from harness.protocol.location import ContentLocationRequest
from harness.protocol.manifest import parse_manifest
from harness.service.configs import SiteEndpoints

_PART = contextvars.ContextVar("part", default="request")
_TARGET: LoadTarget | None = None
_NAMES: Iterator[str] | None = None


def target() -> LoadTarget:
    global _TARGET
    if _TARGET is None:
        path = os.environ.get(TARGET_ENV)
        if not path:
            raise RuntimeError(f"set {TARGET_ENV} to a load target file (cmg-harness load writes one)")
        _TARGET = LoadTarget.load(Path(path))
    return _TARGET


class _Reporting(httpx.BaseTransport):
    """Fires a Locust request event for each request, when its body has been read: the name is the part of the
    flow being done (`_PART`), the time covers the whole answer."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        name, method = _PART.get(), request.method
        try:
            response = self._inner.handle_request(request)
            response.read()
        except Exception as error:
            _fire(method, name, started, 0, error)
            raise
        problem = None if response.status_code < 400 else RuntimeError(f"HTTP {response.status_code}")
        _fire(method, name, started, len(response.content), problem)
        return httpx.Response(response.status_code, headers=response.headers, content=response.content,
                              request=request, extensions=response.extensions)

    def close(self) -> None:
        self._inner.close()


def _fire(method: str, name: str, started: float, length: int, exception: BaseException | None) -> None:
    events.request.fire(  # type: ignore[no-untyped-call]  # Locust leaves EventHook.fire unannotated
        request_type=method, name=name, response_time=(time.perf_counter() - started) * 1e3,
        response_length=length, exception=exception, context={})


class EmulatedClientUser(User):
    """One emulated internet client; each task is one client flow through the CMG."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.target = target()
        self.name = _next_name(self.target)
        self.folder = Path(tempfile.mkdtemp(prefix=f"cmg-load-{self.name}-"))
        cert = None
        if self.target.auth == "pki":
            assert self.target.enrollment_cert and self.target.enrollment_key  # LoadTarget.load checked
            issuer = ClientCertIssuer(ServerCert(Path(self.target.enrollment_cert), Path(self.target.enrollment_key)),
                                      self.folder)
            issued = issuer.issue(self.name)
            cert = (issued.cert_path, issued.key_path)
        self.http = make_client(self.target.hosts, Path(self.target.ca), timeout=60.0, cert=cert, wrap=_Reporting)
        self.identity = new_signing_identity(self.name, datetime.now(UTC))

    def on_stop(self) -> None:
        self.http.close()

    @task
    def client_flow(self) -> None:
        started = time.perf_counter()
        try:
            self._flow()
        except Exception as error:  # a failed part was reported as it failed; the flow fails with it
            _fire("FLOW", "client flow", started, 0, error)
        else:
            _fire("FLOW", "client flow", started, 0, None)

    def _flow(self) -> None:
        t = self.target
        channel = ManagementChannel(client=self.name, http=self.http,
                                    endpoints=SiteEndpoints(t.site_code, t.mp_url, t.cmg_url), on_internet=True,
                                    site_token=t.tokens.get(self.name), logs=ClientLogs(_now), model_now=_now)
        with _part("registration"):
            smsid = channel.register(self.identity, f"{self.name}.contoso.example").smsid
        with _part("policy assignments"):
            assignments = channel.policy_assignments(smsid)
        with _part("task sequence policy"):
            for assignment in assignments:
                channel.policy_body(assignment)
        for package in t.packages:
            with _part("content location"):
                reply = channel.locate(ContentLocationRequest(package, t.package_version, t.site_code,
                                                              use_azure=True, use_internet_dp=True))
            self._download(package, reply)

    def _download(self, package: str, reply: Any) -> None:
        cloud = [record for record in reply.records if record.dp_type == CLOUD]
        if not cloud:
            raise RuntimeError(f"no cloud content location for {package}")
        headers = {"Authorization": f"Bearer {reply.access_token}"} if reply.access_token else {}
        with _part("content manifest"):
            response = self.http.get(cloud[0].url, headers=headers)
            response.raise_for_status()
        for file in parse_manifest(response.text).files:
            with _part("content file"):
                self.http.get(file.url).raise_for_status()


class MinimalUser(FastHttpUser):
    """Locust's own HTTP user, as light as Locust makes one: the CMG's health URL, over and over (Locust's
    defaults, certificate checks off, as Locust ships them)."""

    def __init__(self, environment: Any) -> None:
        self.host = target().health_url.rsplit("/_harness/", 1)[0]
        super().__init__(environment)

    @task
    def health(self) -> None:
        self.client.get("/_harness/health", name="health")


class _Part:
    def __init__(self, name: str) -> None:
        self._name = name
        self._token: contextvars.Token[str] | None = None

    def __enter__(self) -> None:
        self._token = _PART.set(self._name)

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _PART.reset(self._token)


def _part(name: str) -> _Part:
    return _Part(name)


def _next_name(t: LoadTarget) -> str:
    """Each user takes the next client name (the token holders', in order)."""
    global _NAMES
    if _NAMES is None:
        _NAMES = t.client_names()
    try:
        return next(_NAMES)
    except StopIteration:
        raise TargetError(f"more users than the target's {len(t.tokens)} token holders") from None


def _write_stats(environment: Any, **_: Any) -> None:
    """The final figures, once every user has stopped (Locust's own CSV is written when the run time is up, before
    the flows still going have ended): one row per request name, as JSON, for `cmg-harness load` to read."""
    path = os.environ.get(STATS_ENV)
    if not path or isinstance(environment.runner, WorkerRunner):
        return
    rows = [{"kind": entry.method, "name": entry.name, "requests": entry.num_requests,
             "failures": entry.num_failures, "per_second": entry.total_rps,
             "percentiles": {f"{p * 100:g}%": entry.get_response_time_percentile(p) for p in PERCENTILES}}
            for entry in environment.stats.entries.values()]
    Path(path).write_text(json.dumps(rows), encoding="utf-8")


PERCENTILES = (0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 1.0)
events.quitting.add_listener(_write_stats)  # type: ignore[no-untyped-call]  # Locust leaves it unannotated


def _now() -> datetime:
    return datetime.now(UTC)

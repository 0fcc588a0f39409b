"""Where a step's content comes from: local first, then the management point's locations, over the wire.

Shared by the three callers that need packages: TSManager for a step's own package (on demand),
the Download Package Content step, and the client's pre-download for "download all content".
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from harness.client import engine_log, log_sources
from harness.client.channel import ChannelError, ManagementChannel
from harness.client.client import CacheError, EmulatedClient
from harness.client.ctm_log import CtmJob
from harness.client.download import (
    CLOUD,
    ContentDownloader,
    Downloaded,
    DownloadError,
    RetryPolicy,
    TokenRejected,
    Transport,
    intranet_only,
    source_name,
    try_order,
)
from harness.client.logs import ClientLogs
from harness.client.outcome import StepFailed
from harness.client.timeline import Timeline
from harness.model.errors import HResult, hresult_text
from harness.model.rules import ts_engine_uses_cloud_sources
from harness.model.units import Scale
from harness.model.versions import SiteVersion
from harness.protocol import ts_policy as tsp
from harness.protocol.cmtrace import Severity
from harness.protocol.location import ContentLocationReply, ContentLocationRequest, LocationRecord

DEFAULT_RETRY_COUNT = 2  # SMSTSDownloadRetryCount (B-31)
DEFAULT_RETRY_DELAY = 15.0  # SMSTSDownloadRetryDelay, seconds (B-31)


@dataclass
class ContentContext:
    client: EmulatedClient
    channel: ManagementChannel
    timeline: Timeline
    logs: ClientLogs
    scale: Scale
    version: SiteVersion
    site_code: str
    variables: dict[str, str]
    sleep: RetryPolicy  # carries the cancellable sleep; count/delay come from the variables
    deployment_flags: int = 0  # the deployment's RemoteClientFlags, sent with every location request
    # Draws the order of cloud sources (download.try_order); seeded per client and run, see source_chooser.
    chooser: random.Random = field(default_factory=lambda: random.Random(0))


def source_chooser(client: str, deployment: str, seed: int = 0) -> random.Random:
    """The generator a client draws its cloud sources from in one run of a deployment.

    [INFERENCE] how the product draws is undocumented (B-20 says only that it is random); seeding by
    client, deployment and the scenario's seed spreads clients across sources and repeats a run exactly.
    """
    return random.Random(f"{client}/{deployment}/{seed}")


def cloud_source_first(records: tuple[LocationRecord, ...], host: str) -> tuple[LocationRecord, ...]:
    """The drawn order with `host`'s cloud records moved to the first cloud places; the management point's
    ranking of everything else stays. A scenario's way to pick the draw instead of hunting for a seed."""
    cloud = [r for r in records if r.dp_type == CLOUD]
    preferred = [r for r in cloud if source_name(r) == host] + [r for r in cloud if source_name(r) != host]
    drawn = iter(preferred)
    return tuple(next(drawn) if r.dp_type == CLOUD else r for r in records)


class ContentResolver:
    def __init__(self, context: ContentContext) -> None:
        self.ctx = context
        self.local: dict[str, Path] = {}  # package -> folder holding its verified content

    # -- locations ---------------------------------------------------------------------------------

    def locate(self, package: tsp.PolicyPackage, *, engine: bool) -> ContentLocationReply:
        """A content location request as the TS engine (engine=True) or the client's CAS sends it."""
        use_azure = self.ctx.client.settings.allow_cloud_dp
        if engine and not ts_engine_uses_cloud_sources(self.ctx.version):
            use_azure = False  # the pre-1910 engine cannot use cloud sources (model/rules.py)
            self.ctx.logs.smsts(f"Site version {self.ctx.version}: the task sequence engine does not request "
                                "cloud content locations", severity=Severity.WARNING)
        on_internet = self.ctx.channel.on_internet
        # [INFERENCE] A client asks for peers (AllowSuperPeer) when its boundary group allows peer downloads. The
        # harness's clients always ask, on the internet too (a laptop keeps its office's boundary group): the
        # management point applies the group's option, and answers a request through the CMG without peers.
        request = ContentLocationRequest(package_id=package.package_id, package_version=package.version,
                                         site_code=self.ctx.site_code, use_azure=use_azure,
                                         use_internet_dp=on_internet, allow_super_peer=True,
                                         deployment_flags=self.ctx.deployment_flags, ad_site=self.ctx.client.ad_site)
        self.ctx.timeline.record("location.request", package=package.package_id, use_azure=use_azure,
                                 use_internet_dp=request.use_internet_dp)
        reply = self.ctx.channel.locate(request)
        if engine and not self.ctx.version.task_sequence_boundary_group_fallback:
            # Before 1810 a task sequence does not fall back to neighbour boundary groups (B-18):
            # the engine drops those records, the client's own path keeps them.
            reply = replace(reply, records=tuple(r for r in reply.records if r.locality != "NEIGHBOR"))
        self.ctx.timeline.record("location.reply", package=package.package_id, site_locality=reply.site_locality,
                                 locations=[r.url.split("?")[0] for r in reply.records])
        return self._in_try_order(package.package_id, reply)

    def _in_try_order(self, package_id: str, reply: ContentLocationReply) -> ContentLocationReply:
        """The records this client may use, in the order it tries them (download.try_order)."""
        on_internet = self.ctx.channel.on_internet
        records = try_order(reply.records, on_internet=on_internet, chooser=self.ctx.chooser)
        if self.ctx.client.first_source is not None:
            records = cloud_source_first(records, self.ctx.client.first_source)
        skipped = [r for r in reply.records if on_internet and intranet_only(r)]
        for record in skipped:  # [INFERENCE] the wording
            self.ctx.logs.write("LocationServices.log", f"Ignoring intranet location {record.url} : the client is on "
                                                        "the internet", severity=Severity.WARNING)
        self.ctx.timeline.record("location.order", package=package_id, order=[source_name(r) for r in records],
                                 skipped=[source_name(r) for r in skipped],
                                 drawn=self.ctx.client.first_source is None)
        return replace(reply, records=records)

    # -- the TS engine's path (on demand, Download Package Content) -----------------------------------

    def resolve_for_step(self, package: tsp.PolicyPackage, destination: Path, step: str) -> Path:
        """Content for a running step: local if already there, else located and downloaded now."""
        pid = package.package_id
        engine_log.resolving(self.ctx.logs, self.ctx.channel, self.ctx.site_code, pid, package.version)
        if pid in self.local and self.local[pid].exists():
            self.ctx.logs.smsts(f"Content for {pid} found locally at {self.ctx.client.windows_path(self.local[pid])}")
            return self.local[pid]
        engine_log.transport_setup(self.ctx.logs, self.ctx.channel)
        reply = self._locate_for_step(package, step)
        engine_log.processing(self.ctx.logs, len(reply.records))
        if not reply.records:
            self.ctx.logs.smsts("No static content server.", severity=Severity.WARNING)
            self.ctx.logs.smsts("(LocationsList.size() + slistHttpPaths.size() + slistSMBPaths.size()) > 0, "
                                "HRESULT=80040102 (..\\resolvesource.cpp,2665)", file=log_sources.NO_LOCATION)
            message = f"Content location request for {pid}:{package.version} failed, hr=0x80040102"
            self.ctx.logs.smsts(message, severity=Severity.ERROR)
            raise StepFailed(HResult.NO_CONTENT_LOCATION, message, step)
        self.ctx.variables["_SMSTSLastContentDownloadLocation"] = reply.records[0].url.split("?")[0]
        return self._download(package, reply, destination, step)

    def locate_as_engine(self, package: tsp.PolicyPackage) -> ContentLocationReply:
        """The engine's location request, with its transport's lines in smsts.log (engine_log)."""
        return engine_log.located(self.ctx.logs, self.ctx.channel, partial(self.locate, package, engine=True))

    def _locate_for_step(self, package: tsp.PolicyPackage, step: str) -> ContentLocationReply:
        """A location request that cannot reach the management point fails the step that needed it, as one
        that finds no location does (B-14), with the transport's code."""
        try:
            return self.locate_as_engine(package)
        except ChannelError as error:
            message = (f"Content location request for {package.package_id}:{package.version} failed, "
                       f"hr={hresult_text(error.hresult)}: {error}")
            self.ctx.logs.smsts(message, severity=Severity.ERROR)
            raise StepFailed(error.hresult, message, step) from None

    # -- the client's path (Install Application, B-41) ---------------------------------------

    def resolve_by_client(self, package: tsp.PolicyPackage, step: str) -> Path:
        """Applications installed from a task sequence are downloaded by the client (CAS/CTM/DTS) into
        ccmcache, with the client's own location request: it may use cloud sources on any version."""
        pid = package.package_id
        if pid in self.local and self.local[pid].exists():
            return self.local[pid]
        try:
            return self.fetch_by_client(package, reserve=False, retry=self.retry_policy())
        except (DownloadError, CacheError) as error:
            raise StepFailed(error.hresult, str(error), step) from None

    def fetch_by_client(self, package: tsp.PolicyPackage, *, priority: str = "Foreground", reserve: bool = True,
                        retry: RetryPolicy | None = None) -> Path:
        """The client's own path (CAS -> DTS) into ccmcache: download all, pre-cache, Install Application.

        Raises DownloadError (0x87D00607 when no location is usable) or CacheError (no room in ccmcache).
        """
        pid = package.package_id
        content = f"{pid}.{package.version}"
        self.ctx.logs.write("CAS.log", f"Requesting locations synchronously for content {content} with priority "
                                       f"{priority}")
        job = CtmJob(self.ctx.logs, self.ctx.client.name, content)
        job.submitted()
        try:
            reply = self.locate(package, engine=False)
        except ChannelError as error:
            self.ctx.logs.write("CAS.log", f"Location request for {content} failed: {error}", severity=Severity.ERROR)
            raise DownloadError(error.hresult, f"Location request for {content} failed: {error}") from None
        job.persisted(reply.records)
        if not reply.records:
            self.ctx.logs.write("CAS.log", f"Content is not available for {content}", severity=Severity.ERROR)
            raise DownloadError(HResult.CONTENT_NOT_FOUND, f"Content {content} is not available (0x87D00607)")
        if reserve:
            self.ctx.client.reserve_cache(pid, package.size)
        done = self._download_by_client(package, reply, job, retry)
        self.ctx.logs.write("CAS.log", f"Hash verification succeeded for content {content} downloaded under "
                                       "context System")
        self.local[pid] = self.ctx.client.cached[pid] = done.path
        return done.path

    def _download_by_client(self, package: tsp.PolicyPackage, reply: ContentLocationReply, job: CtmJob,
                            retry: RetryPolicy | None) -> Downloaded:
        """The DTS job CTM hands the download to, into a new ccmcache folder."""
        downloader = ContentDownloader(self.ctx.client.http, self.ctx.timeline, self.ctx.logs, self.ctx.scale,
                                       Transport.DTS, self.ctx.client.windows_path)
        job.started(reply.records[0].url)
        try:
            done = downloader.fetch(package.package_id, package.version, reply, self.client_cache_folder(), retry)
        except DownloadError as error:
            job.failed(error.hresult)
            raise
        job.completed()
        return done

    def _download(self, package: tsp.PolicyPackage, reply: ContentLocationReply, destination: Path, step: str) -> Path:
        downloader = ContentDownloader(self.ctx.client.http, self.ctx.timeline, self.ctx.logs, self.ctx.scale,
                                       windows_path=self.ctx.client.windows_path)
        try:
            try:
                done = downloader.fetch(package.package_id, package.version, reply, destination, self.retry_policy())
            except TokenRejected as rejected:
                # Once: a fresh reply carries a fresh token and URL window; a second refusal is final.
                self.ctx.logs.smsts(f"The content access token was rejected ({rejected}); requesting content "
                                    "locations again", severity=Severity.WARNING)
                reply = self.locate_as_engine(package)
                done = downloader.fetch(package.package_id, package.version, reply, destination, self.retry_policy())
        except DownloadError as error:
            raise StepFailed(error.hresult, str(error), step) from None
        finally:
            # The last location the engine downloaded or tried to download from (B-33).
            if downloader.last_location is not None:
                self.ctx.variables["_SMSTSLastContentDownloadLocation"] = downloader.last_location
        self.local[package.package_id] = done.path
        self.ctx.variables[f"_SMSTS{package.package_id}"] = self.ctx.client.windows_path(done.path)
        return done.path

    def retry_policy(self) -> RetryPolicy:
        count = _number(self.ctx.variables.get("SMSTSDownloadRetryCount"), DEFAULT_RETRY_COUNT)
        delay = _number(self.ctx.variables.get("SMSTSDownloadRetryDelay"), DEFAULT_RETRY_DELAY)
        return RetryPolicy(count=int(count), delay=delay, sleep=self.ctx.sleep.sleep)

    def access_directly(self, package: tsp.PolicyPackage, step: str) -> None:
        """"Access content directly from a distribution point": no download, no hash check (B-35).

        Only a distribution point's package share can be run from; a cloud source never can (B-36).
        """
        reply = self.locate_as_engine(package)
        shares = [r for r in reply.records if r.dp_type == "SERVER"]
        self.ctx.logs.smsts(f"Processing {len(shares)} locations.")
        if not shares:
            message = (f"No distribution point with a package share holds {package.package_id}: content cannot be "
                       "accessed directly from a cloud source, hr=0x80040102")
            self.ctx.logs.smsts(message, severity=Severity.ERROR)
            raise StepFailed(HResult.NO_CONTENT_LOCATION, message, step)
        location = shares[0].url
        self.ctx.variables["_SMSTSLastContentDownloadLocation"] = location
        self.ctx.variables[f"_SMSTS{package.package_id}"] = location
        self.ctx.timeline.record("content.accessed", package=package.package_id,
                                 source=shares[0].server_remote_name.lower(), url=location)
        self.ctx.logs.smsts(f"Content for {package.package_id} is accessed from {location} (no hash verification)")

    def ts_package_folder(self, package_id: str) -> Path:
        return self.ctx.client.ts_cache / "Packages" / package_id

    def client_cache_folder(self) -> Path:
        cache = self.ctx.client.client_cache
        cache.mkdir(parents=True, exist_ok=True)
        taken = {int(p.name) for p in cache.iterdir() if p.name.isdigit()}
        return cache / str(next(i for i in range(1, len(taken) + 2) if i not in taken))

    def move(self, package_id: str, staged: Path, target: Path) -> Path:
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged), target)
        self.local[package_id] = target
        self.ctx.variables[f"_SMSTS{package_id}"] = self.ctx.client.windows_path(target)
        return target

    def forget(self, package_id: str) -> None:
        """Removes on-demand content once its step is done (unless SMSTSPersistContent, B-27)."""
        folder = self.local.pop(package_id, None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
            self.ctx.timeline.record("content.removed", package=package_id)
            self.ctx.logs.smsts(f"Deleting content for package {package_id} from the task sequence cache")


def _number(text: str | None, default: float) -> float:
    try:
        return max(0.0, float(text)) if text is not None else default
    except ValueError:
        return default

"""The site: what an administrator configured, and the management point's answers. No HTTP here (a refusal is an
`HttpError` with the status the API answers)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from harness.clock.model_clock import ModelClock
from harness.emulators.site.boundaries import BoundaryGroup, BoundaryGroups, Plan
from harness.emulators.site.config import CloudSource, DistributedPackage, SiteConfig
from harness.emulators.site.definitions import to_policy
from harness.emulators.site.peers import PeerCacheSources, PeerSource, peer_record
from harness.model.content import content_sha256
from harness.model.deployment import (
    REMOTE_DP_FLAGS,
    Deployment,
)
from harness.model.matrix import Capability
from harness.model.rules import deployment_problems
from harness.model.task_sequence import Group, Package, Step, TaskSequence, walk
from harness.model.versions import SiteVersion
from harness.protocol import policy as pol
from harness.protocol import ts_policy as tsp
from harness.protocol.content_url import ContentUrl, build_content_url
from harness.protocol.location import ContentLocationReply, ContentLocationRequest, LocationRecord
from harness.protocol.paths import DP_PACKAGE_VDIR, DP_SIGNATURE_VDIR
from harness.protocol.site_info import SiteInfo
from harness.protocol.tokens import (
    CCM_TOKEN_LIFETIME,
    CONTENT_TOKEN_LIFETIME,
    CONTENT_URL_WINDOW,
    SITE_TOKEN_LIFETIME,
    Token,
    sign_token,
)
from harness.service.control import HttpError

# [INFERENCE] SMSIDs are uuid5 of the site code and the client's name in this namespace, so a client that
# registers again, or anew after a reset, gets the ID it had.
_SMSID_NAMESPACE = uuid.UUID("0b7c5a3e-2f1d-4c8e-9a6b-5d4e3f2a1c0b")


class SiteModel:
    def __init__(self, config: SiteConfig, clock: ModelClock) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.RLock()
        self.reset()

    # -- administration (what the console would do) ------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.version = self.config.version
            self.packages: dict[str, DistributedPackage] = {}
            self.task_sequences: dict[str, TaskSequence] = {}
            self.ts_variables: dict[str, dict[str, str]] = {}
            self.boot_images: dict[str, str] = {}  # task sequence -> its boot image package ID
            self.deployments: dict[str, Deployment] = {}
            self.sources = {s.name: replace(s) for s in self.config.cloud_sources}
            self.boundaries = BoundaryGroups()
            self.peers = PeerCacheSources(dict(self.config.peers))
            self.registrations: dict[str, str] = {}  # client name (upper case) -> SMSID

    def set_version(self, version: SiteVersion) -> None:
        with self._lock:
            self.version = version

    def define_package(self, package: Package, physical_size: int) -> DistributedPackage:
        with self._lock:
            record = DistributedPackage(package, physical_size,
                                        content_sha256(package.package_id, package.version, physical_size),
                                        updated=self.clock.now())
            self.packages[package.package_id] = record
            return record

    def package(self, package_id: str) -> DistributedPackage:
        record = self.packages.get(package_id)
        if record is None:
            raise HttpError(404, f"package {package_id} is not defined on site {self.config.site_code}")
        return record

    def dp_package(self, name: str, dp: str) -> DistributedPackage:
        """The package a DP serves under `name`: its ID or <ID>.<version>, in any case (IIS is case-insensitive)."""
        package_id, dot, version = name.upper().partition(".")
        with self._lock:
            record = self.packages.get(package_id)
        if record is None or dp not in record.sources or (dot and version != str(record.package.version)):
            raise HttpError(404, f"package {name} is not on distribution point {self.config.distribution_points[dp]}")
        return record

    def dp_packages(self, dp: str) -> list[DistributedPackage]:
        with self._lock:
            return sorted((r for r in self.packages.values() if dp in r.sources), key=lambda r: r.package.package_id)

    def content_sources(self) -> set[str]:
        return {*self.config.distribution_points, *self.sources}

    def check_sources(self, names: list[str]) -> None:
        unknown = sorted(set(names) - self.content_sources())
        if unknown:
            known = ", ".join(sorted(self.content_sources()))
            raise HttpError(400, f"unknown content source(s) {', '.join(unknown)}; this site has {known}")
        absent = sorted(n for n in names if n in self.sources and not self.sources[n].installed)
        if absent:
            raise HttpError(409, f"cloud distribution point {', '.join(absent)} has not been created")

    def mark_distributed(self, package_id: str, names: list[str]) -> None:
        with self._lock:
            record = self.package(package_id)
            record.sources.update(names)
            record.damaged.difference_update(names)  # a fresh distribution replaces a damaged copy
            record.updated = self.clock.now()

    def set_serve_content(self, source: str, enabled: bool) -> None:
        with self._lock:
            if source not in self.sources or self.sources[source].kind != "cmg":
                raise HttpError(404, f"no cloud management gateway named {source!r}")
            self.sources[source].serve_content = enabled

    def define_task_sequence(self, package_id: str, name: str, steps: tuple[Step | Group, ...],
                             variables: dict[str, str] | None = None, boot_image: str = "") -> TaskSequence:
        with self._lock:
            referenced = {p for s in walk(steps) for p in s.content}
            missing = sorted(p for p in referenced if p not in self.packages)
            if missing:
                raise HttpError(422, f"task sequence {name!r} references undefined package(s) {', '.join(missing)}")
            packages = {p: self.packages[p].package for p in referenced}
            try:
                ts = TaskSequence(package_id, name, steps, packages)
            except ValueError as error:
                raise HttpError(422, str(error)) from None
            self.task_sequences[package_id] = ts
            self.ts_variables[package_id] = dict(variables or {})
            self.boot_images[package_id] = boot_image
            return ts

    def deploy(self, deployment: Deployment) -> None:
        with self._lock:
            if deployment.task_sequence_id not in self.task_sequences:
                raise HttpError(422, f"deployment {deployment.deployment_id} targets task sequence "
                                     f"{deployment.task_sequence_id}, which is not defined")
            problems = deployment_problems(deployment, self.task_sequences[deployment.task_sequence_id])
            if problems:
                raise HttpError(422, f"deployment {deployment.deployment_id} refused: {'; '.join(problems)}")
            self.deployments[deployment.deployment_id] = deployment

    # -- management point answers ---------------------------------------------------------------

    def site_info(self) -> SiteInfo:
        return SiteInfo(self.config.site_code, self.version.product_version, self.version.build,
                        str(self.version))

    def locate(self, request: ContentLocationRequest, client: str) -> ContentLocationReply:
        """Content location reply (B-03, B-13, B-14, B-17 to B-22)."""
        with self._lock:
            record = self.package(request.package_id)
            plan = self.boundaries.plan(request.ad_site, self.config.dp_name)
            on_premises = self._peer_records(record, request, plan) + self._dp_records(record, request, plan)
            cloud = self._cloud_records(record, request)
            # Cloud sources come last (they cost money, B-17) unless one of the client's
            # boundary groups prefers them, an option that exists from 1810 (B-19).
            prefer_cloud = plan.prefer_cloud and self.version.supports(Capability.PREFER_CLOUD_SOURCES)
            records = cloud + on_premises if prefer_cloud else on_premises + cloud
            token = self._content_token(client, record) if any(r.dp_type == "CLOUD" for r in records) else None
            return ContentLocationReply(
                site_code=self.config.site_code, site_locality="LOCAL" if records else "FALLBACK",
                records=tuple(records), hash_sha256=record.sha256 if records else None, access_token=token,
                bgr_version=request.bgr_version,
                boundary_groups_time=self.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3])

    def _dp_records(self, record: DistributedPackage, request: ContentLocationRequest,
                    plan: Plan) -> list[LocationRecord]:
        # The on-premises DPs are intranet-only: internet clients only use internet-facing or cloud
        # sources and ignore boundary groups (B-16).
        if request.use_internet_dp:
            return []
        local = [self._dp_record(name, record, "LOCAL") for name in plan.local if name in record.sources]
        if local or not request.deployment_flags & REMOTE_DP_FLAGS:
            return local
        # "When no local distribution point is available, use a remote distribution point": the DPs
        # of neighbour boundary groups (B-18). Whether the client takes them is its
        # own business: a task sequence does only from 1810.
        return [self._dp_record(name, record, "NEIGHBOR") for name in plan.neighbors if name in record.sources]

    def _peer_records(self, record: DistributedPackage, request: ContentLocationRequest,
                      plan: Plan) -> list[LocationRecord]:
        # A task sequence tries peer cache sources before its DPs (B-21), for clients that may use peers
        # (AllowSuperPeer). Peer cache is not supported over the CMG (B-22): an internet client's request, which
        # came through it, gets none.
        if request.use_internet_dp or not request.allow_super_peer:
            return []
        package_id = record.package.package_id
        return [peer_record(source, package_id, self.config.mp_port, self.version.build)
                for source in self.peers.holding(package_id, plan.peer_sites)]

    def declare_peer_cache_source(self, name: str, ad_site: str, packages: list[str]) -> PeerSource:
        with self._lock:
            try:
                return self.peers.declare(name, ad_site, packages, set(self.packages))
            except LookupError as error:
                raise HttpError(404, str(error)) from None
            except ValueError as error:
                raise HttpError(422, str(error)) from None

    def _dp_record(self, name: str, record: DistributedPackage, locality: str) -> LocationRecord:
        fqdn = self.config.distribution_points[name]
        base = f"https://{fqdn}:{self.config.mp_port}"
        url = f"{base}/{DP_PACKAGE_VDIR}/{record.package.package_id}"
        return LocationRecord(url=url, server_remote_name=fqdn.upper(), locality=locality, dp_type="SERVER",
                              version=self.version.build,
                              signature_url=f"{base}/{DP_SIGNATURE_VDIR}/{record.library_name}.tar",
                              capabilities=(("SSLState", "1"),))

    def define_boundary_group(self, group: BoundaryGroup) -> None:
        with self._lock:
            try:
                self.boundaries.define(group, set(self.config.distribution_points))
            except ValueError as error:
                raise HttpError(422, str(error)) from None

    def _cloud_records(self, record: DistributedPackage, request: ContentLocationRequest) -> list[LocationRecord]:
        # Cloud sources only for clients allowed to use them (UseAzure), only where the content is,
        # and a CMG only while it serves content and only from 1806, when content-enabled CMGs
        # arrived (B-02, B-03, B-13). Intranet clients rank them last (B-17),
        # which their position after the DP record gives.
        if not request.use_azure:
            return []
        now = self.clock.now()
        return [self._cloud_record(source, record, now) for source in self.sources.values()
                if source.name in record.sources and self._serves_content(source)]

    def _serves_content(self, source: CloudSource) -> bool:
        if source.kind == "cmg":
            return source.serve_content and self.version.content_enabled_cmg
        return source.installed

    def install_cloud_dp(self, name: str) -> None:
        """Creating a traditional cloud DP is refused from 2107 (B-05); existing ones keep working."""
        with self._lock:
            source = self.sources.get(name)
            if source is None or source.kind != "clouddp":
                raise HttpError(404, f"no cloud distribution point named {name!r} in this environment")
            if not self.version.new_classic_cloud_dps:
                raise HttpError(422, f"Starting in version 2107 you can't create a traditional cloud distribution "
                                     f"point (site version {self.version}): use a content-enabled CMG")
            source.installed = True

    def _content_base(self, source: CloudSource) -> str:
        """Before 1902 a content-enabled CMG with a third-party certificate was handed out by its
        deployment name (<name>.cloudapp.net), which its certificate does not cover (B-09)."""
        if (source.kind == "cmg" and source.third_party_certificate and source.deployment_name
                and self.version.release < 1902):
            return f"https://{source.deployment_name}:{source.port}"
        return source.base_url

    def set_third_party_certificate(self, source: str, enabled: bool) -> None:
        with self._lock:
            if source not in self.sources or self.sources[source].kind != "cmg":
                raise HttpError(404, f"no cloud management gateway named {source!r}")
            self.sources[source].third_party_certificate = enabled

    def _cloud_record(self, source: CloudSource, record: DistributedPackage, now: datetime) -> LocationRecord:
        pid = record.package.package_id
        # [INFERENCE] what the product's tid identifies is undocumented; derived from what the URL is for, so a
        # repeated run is handed (and logs) the same URL.
        tid = uuid.uuid5(_SMSID_NAMESPACE, f"tid:{source.fqdn}:{pid}:{now.isoformat()}")
        url = build_content_url(ContentUrl(base=self._content_base(source), package_id=pid, content_id=pid,
                                           tid=f"GUID:{tid}", issuer=self.config.mp_fqdn.upper(),
                                           start=now, end=now + CONTENT_URL_WINDOW))
        # [INFERENCE] "CLOUD" and "INTERNET" are synthetic: the real strings for cloud records
        # were not found in any source.
        return LocationRecord(url=url, server_remote_name=source.fqdn.upper(), locality="INTERNET",
                              dp_type="CLOUD", version=self.version.build,
                              capabilities=(("SSLState", "1"), ("AuthMethod", "1024")))

    def _content_token(self, client: str, record: DistributedPackage) -> str:
        now = self.clock.now()
        return sign_token(Token("content", client, now, now + CONTENT_TOKEN_LIFETIME,
                                (("pid", record.package.package_id),)), self.config.key)

    def register(self, netbios_name: str) -> tuple[str, bool]:
        """The client's SMSID, and whether this registration is its first. [INFERENCE] every registration is
        approved: token and PKI clients are, and the harness has no console approval to wait for."""
        with self._lock:
            name = netbios_name.upper()
            known = name in self.registrations
            if not known:
                guid = uuid.uuid5(_SMSID_NAMESPACE, f"{self.config.site_code}:{name}")
                self.registrations[name] = f"GUID:{str(guid).upper()}"
            return self.registrations[name], not known

    def assignments(self, client_id: str) -> tuple[pol.PolicyAssignment, ...]:
        with self._lock:
            return tuple(self._assignment(d) for d in sorted(self.deployments.values(),
                                                             key=lambda d: d.deployment_id))

    def _assignment(self, deployment: Deployment) -> pol.PolicyAssignment:
        flags = pol.TASKSEQUENCE | (0 if deployment.allow_internet else pol.INTRANETONLY)
        policy_id = f"{deployment.deployment_id}-{deployment.task_sequence_id}-6F6BCC28"
        return pol.PolicyAssignment(policy_id=policy_id, version="1.00", policy_type="Machine",
                                    category="NAL", flags=flags,
                                    location=f"http://<mp>/SMS_MP/.sms_pol?{policy_id}.1_00")

    def policy_body(self, policy_id: str) -> tsp.TaskSequencePolicy:
        with self._lock:
            deployment_id = policy_id.split("-", 1)[0]
            deployment = self.deployments.get(deployment_id)
            if deployment is None or not policy_id.startswith(f"{deployment_id}-{deployment.task_sequence_id}-"):
                raise HttpError(404, f"no policy {policy_id} on this management point")
            return self._ts_policy(deployment)

    def _ts_policy(self, deployment: Deployment) -> tsp.TaskSequencePolicy:
        ts = self.task_sequences[deployment.task_sequence_id]
        steps = to_policy(ts.steps)
        refs = tuple(tsp.PolicyPackage(p.package_id, p.version, p.name, p.model_size)
                     for p in ts.referenced_packages)
        return tsp.TaskSequencePolicy(
            advertisement_id=deployment.deployment_id, package_id=ts.package_id, name=ts.name,
            offer_type=deployment.purpose.offer_type, advert_flags=deployment.advert_flags,
            remote_client_flags=deployment.remote_client_flags, steps=steps, references=refs,
            variables=tuple(sorted(self.ts_variables.get(ts.package_id, {}).items())),
            pre_download=deployment.pre_download, boot_image_id=self.boot_images.get(ts.package_id, ""))

    # -- tokens ----------------------------------------------------------------------------------

    def issue_site_token(self, client: str) -> str:
        """A site-issued (bulk registration style) token the client presents to CCM_STS."""
        now = self.clock.now()
        return sign_token(Token("site", client, now, now + SITE_TOKEN_LIFETIME), self.config.key)

    def issue_ccm_token(self, client: str) -> str:
        now = self.clock.now()
        return sign_token(Token("ccm", client, now, now + CCM_TOKEN_LIFETIME), self.config.key)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "site_code": self.config.site_code, "version": self.version.release,
                "packages": {pid: {"name": r.package.name, "version": r.package.version,
                                   "model_size": r.package.model_size, "physical_size": r.physical_size,
                                   "sha256": r.sha256, "sources": sorted(r.sources)}
                             for pid, r in self.packages.items()},
                "task_sequences": sorted(self.task_sequences),
                "deployments": {d.deployment_id: {"task_sequence": d.task_sequence_id, "option": d.option.value,
                                                  "purpose": d.purpose.value, "allow_internet": d.allow_internet}
                                for d in self.deployments.values()},
                "boundary_groups": self.boundaries.snapshot(),
                "peer_cache_sources": self.peers.snapshot(),
                "registered_clients": dict(sorted(self.registrations.items())),
                "cloud_sources": {s.name: {"kind": s.kind, "fqdn": s.fqdn, "serve_content": s.serve_content,
                                           "installed": s.installed,
                                           "third_party_certificate": s.third_party_certificate}
                                  for s in self.sources.values()},
            }

"""One emulated Windows client: its settings, its network, its disk, and how it finds its site."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PureWindowsPath

import httpx

from harness.client.channel import ChannelError, ManagementChannel, SiteEndpoints
from harness.client.identity import SigningIdentity, new_signing_identity
from harness.client.link import LinkProfile, LinkTransport
from harness.client.logs import ClientLogs
from harness.client.timeline import Timeline
from harness.model.client_settings import DEFAULT_CACHE_SIZE, CloudServicesSettings, NetworkLocation
from harness.model.errors import HResult
from harness.protocol.cmtrace import Severity

PROBE_TIMEOUT = 5.0
REGISTRATION_LOG = "ClientIDManagerStartup.log"


class CacheError(Exception):
    def __init__(self, hresult: HResult, message: str) -> None:
        super().__init__(message)
        self.hresult = hresult


@dataclass
class EmulatedClient:
    name: str
    network: NetworkLocation
    settings: CloudServicesSettings
    site_token: str | None  # a site-issued token (token auth), or None for a PKI client
    root: Path  # stands for C:\ of this client
    http: httpx.Client
    client_id: str = ""  # the SMSID (GUID:…) the site assigned at registration; empty until then
    cached: dict[str, Path] = field(default_factory=dict)  # ccmcache: package -> verified content, across runs
    cache_size: int = DEFAULT_CACHE_SIZE  # "Maximum cache size", model bytes
    ad_site: str = "Default-First-Site-Name"  # the boundary the management point places it by
    seed: int = 0  # a scenario's seed for the client's random choices (which cloud source it tries first)
    # A cloud source (host name) the scenario has the client try before the others, instead of drawing;
    # a test control, not a product setting (PUT /clients/{name}/first-source).
    first_source: str | None = None
    cached_sizes: dict[str, int] = field(default_factory=dict)  # package -> model bytes it takes in ccmcache
    # The self-signed signing certificate; the agent makes it when it installs the client, so that key
    # generation is not part of any run's time.
    identity: SigningIdentity | None = field(default=None, repr=False)
    # The client's link, under `http` (the agent installs one on every client); no profile means not shaped.
    link: LinkTransport | None = field(default=None, repr=False)

    def windows_path(self, path: Path) -> str:
        return "C:\\" + str(path.relative_to(self.root)).replace("/", "\\")

    def local_path(self, windows_path: str) -> Path:
        """C:\\Drivers -> <root>/Drivers; only the system drive exists, and nothing may leave it."""
        parts = PureWindowsPath(windows_path)
        if parts.drive.upper() != "C:" or ".." in parts.parts or "\x00" in windows_path:
            raise ValueError(f"path {windows_path!r} is not on the client's C: drive")
        return self.root.joinpath(*[p for p in parts.parts if p not in (parts.anchor, parts.drive)])

    @property
    def ts_cache(self) -> Path:
        return self.root / "_SMSTaskSequence"

    @property
    def client_cache(self) -> Path:
        return self.root / "Windows" / "ccmcache"

    def detect_internet(self, endpoints: SiteEndpoints, logs: ClientLogs) -> bool:
        """Currently Internet unless an on-premises management point answers (B-11)."""
        if self.settings.always_on_internet:
            logs.write("ClientLocation.log", "ClientAlwaysOnInternet is set: the client is always on the internet")
            return True
        try:
            self.http.get(f"{endpoints.mp_url}/SMS_MP/.sms_aut?MPLIST", timeout=PROBE_TIMEOUT)
        except httpx.HTTPError as error:
            logs.write("LocationServices.log", f"Failed to contact the management point {endpoints.mp_url}: {error}")
            logs.write("ClientLocation.log", "Client is on internet")
            return True
        logs.write("ClientLocation.log", "Client is on intranet")
        return False

    def channel(self, endpoints: SiteEndpoints, logs: ClientLogs, model_now: Callable[[], datetime],
                timeline: Timeline | None = None) -> ManagementChannel:
        self._log_link(logs)
        on_internet = self.detect_internet(endpoints, logs)
        if on_internet and not self.settings.enable_cmg:
            raise ChannelError(HResult.NAME_NOT_RESOLVED,
                               "The client is on the internet and client setting \"Enable clients to use a cloud "
                               "management gateway\" is No: no management point can be reached")
        if on_internet:
            logs.write("ClientLocation.log", "Rotating internet management point, new management point [1] is: "
                                             f"{endpoints.cmg_url} (0) with capabilities: <Capabilities "
                                             'SchemaVersion ="1.0"><Property Name="SSL" Version="1" /></Capabilities>')
        return ManagementChannel(client=self.name, http=self.http, endpoints=endpoints, on_internet=on_internet,
                                 site_token=self.site_token, logs=logs, model_now=model_now, timeline=timeline)

    @property
    def link_profile(self) -> LinkProfile | None:
        return None if self.link is None else self.link.profile

    def _log_link(self, logs: ClientLogs) -> None:
        """Once a run, before the client first goes on the network.

        [INFERENCE] the wording: Windows logs no link speed here; the line names the link the harness emulates.
        """
        profile = self.link_profile
        if profile is not None:
            logs.write("ClientLocation.log", f"Network link: {profile.describe()} (emulated by the harness)")

    def register(self, channel: ManagementChannel, logs: ClientLogs, now: datetime) -> str:
        """Registers with the site and takes the SMSID it assigns as the client's ID.

        [INFERENCE] the ClientIDManagerStartup.log wording; no public log quotes the product's lines.
        """
        if self.identity is None:
            self.identity = new_signing_identity(self.name, now)
        logs.write(REGISTRATION_LOG, "[RegTask] - Executing registration task synchronously.")
        logs.write(REGISTRATION_LOG, f"Registering client using {_registration_auth(channel)}.")
        logs.write(REGISTRATION_LOG, f"[RegTask] - Client is not registered. Sending registration request for "
                                     f"{self.name} to {channel.request_url}")
        try:
            reply = channel.register(self.identity, f"{self.name}.{_domain(channel.endpoints.mp_url)}")
        except ChannelError as error:
            logs.write(REGISTRATION_LOG, f"[RegTask] - Client registration failed: {error}", severity=Severity.ERROR)
            raise
        self.client_id = reply.smsid
        logs.write(REGISTRATION_LOG, f"[RegTask] - Client is registered. Server assigned ClientID is {reply.smsid}. "
                                     f"Approval status {int(reply.approved)}")
        return reply.smsid

    @property
    def auth(self) -> str:
        return "token" if self.site_token else "pki"

    def reserve_cache(self, package_id: str, size: int) -> None:
        """Room in ccmcache for a package, or the client's cache errors (B-26).

        [INFERENCE] nothing is evicted: content a deployment still needs is not given up for other content.
        """
        if size > self.cache_size:
            raise CacheError(HResult.CACHE_TOO_SMALL, f"The client cache ({self.cache_size / 2**20:.0f} MB) is "
                             f"smaller than {package_id} ({size / 2**20:.0f} MB) (0x87D01202)")
        used = sum(self.cached_sizes.values())
        if used + size > self.cache_size:
            raise CacheError(HResult.CACHE_FULL, f"Not enough free space in the client cache for {package_id}: "
                             f"{(self.cache_size - used) / 2**20:.0f} MB free, {size / 2**20:.0f} MB needed "
                             "(0x87D01201)")
        self.cached_sizes[package_id] = size

    def release_cache(self) -> None:
        shutil.rmtree(self.client_cache, ignore_errors=True)
        self.cached.clear()
        self.cached_sizes.clear()

    def wipe(self) -> None:
        self.http.close()
        shutil.rmtree(self.root, ignore_errors=True)


def _registration_auth(channel: ManagementChannel) -> str:
    if channel.uses_token:
        return "token auth"
    return "PKI client certificate auth" if channel.on_internet else "its self-signed certificate"


def _domain(mp_url: str) -> str:
    """[INFERENCE] the client's DNS domain is its management point's: emulated clients join the site's domain."""
    host = httpx.URL(mp_url).host
    return host.split(".", 1)[1] if "." in host else host

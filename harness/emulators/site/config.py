"""What the site is made of: its configuration (from the environment), its cloud sources, and the packages it has
defined and distributed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from harness.model.task_sequence import Package
from harness.model.versions import SiteVersion


@dataclass
class CloudSource:
    """A content-enabled CMG or a cloud DP, as the site knows it."""

    name: str
    kind: str  # "cmg" or "clouddp"
    fqdn: str
    port: int
    serve_content: bool = True  # CMG: "Allow CMG to function as a cloud distribution point…"
    installed: bool = True  # classic cloud DP: created by the administrator (not possible from 2107)
    deployment_name: str = ""  # CMG: the <name>.cloudapp name the service name is a CNAME of (B-09)
    third_party_certificate: bool = False  # CMG: server certificate from a public provider (B-09)

    @property
    def base_url(self) -> str:
        return f"https://{self.fqdn}:{self.port}"


@dataclass
class DistributedPackage:
    package: Package
    physical_size: int
    sha256: str
    updated: datetime  # model time of the last definition or distribution: what a DP lists as modified
    sources: set[str] = field(default_factory=set)
    damaged: set[str] = field(default_factory=set)  # sources holding a damaged copy (wrong hash)

    @property
    def file_name(self) -> str:
        return self.package.kind.content_file

    @property
    def files(self) -> dict[str, int]:
        """The package's files on a DP: path below the package folder ('/'-separated) -> size in bytes."""
        return {self.file_name: self.physical_size}

    @property
    def library_name(self) -> str:
        """The package's folder in the DP's content library: <PackageID>.<version>."""
        return f"{self.package.package_id}.{self.package.version}"


@dataclass(frozen=True)
class SiteConfig:
    site_code: str
    version: SiteVersion
    mp_fqdn: str
    mp_port: int
    dp_name: str  # the site server's own distribution point (same host as the MP)
    cloud_sources: tuple[CloudSource, ...]
    key: bytes  # signs site, CCM and content tokens; the CMG holds the same key
    other_dps: tuple[tuple[str, str], ...] = ()  # further on-premises DPs (name, FQDN) this process serves
    peers: tuple[tuple[str, str], ...] = ()  # clients that can be peer cache sources (name, FQDN): it serves them
    mp_certificate: bytes = b""  # DER: what the management point answers to MPCERT

    @property
    def distribution_points(self) -> dict[str, str]:
        """Every on-premises DP: name -> FQDN."""
        return {self.dp_name: self.mp_fqdn, **dict(self.other_dps)}

    def dp_for_host(self, host: str) -> str | None:
        return next((name for name, fqdn in self.distribution_points.items() if fqdn.lower() == host.lower()), None)

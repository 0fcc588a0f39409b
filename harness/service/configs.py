"""What each served process is configured with: one typed dataclass per service, and one JSON form for all.

The environment builds these (`EmulatedEnvironment.service_configs`) and hands each process its configuration as
JSON, on stdin (`local`) or in a file (`containers`, `python -m harness.service.serve --config`). The process
reads it back with `from_json`, which refuses a missing, misspelt or wrongly typed field by name, so a hand-written
configuration fails at start with the field to fix rather than later with a KeyError.

The JSON form is the dataclasses' fields, nested, with the model clock in `ModelClock.to_json`'s form and fields
left at None omitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import dacite

from harness.clock.model_clock import ModelClock
from harness.model.client_settings import CloudServicesSettings


class ConfigError(ValueError):
    """A configuration that does not fit its service: the message names the service and the field."""


# -- pieces several services share ------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Tls:
    ca: str  # the test CA (PEM): what the service trusts
    cert: str | None = None  # the service's own certificate and key (PEM); none: the service speaks plain HTTP
    key: str | None = None
    # Ask every TLS client for a certificate (CERT_OPTIONAL) and record it: PKI clients on CCM_Proxy_MutualAuth,
    # HTTPS distribution points.
    client_certificates: bool = False

    @property
    def ca_path(self) -> Path:
        return Path(self.ca)


@dataclass(frozen=True, kw_only=True)
class StorageAccount:
    """An Azure storage account as a service reaches it (Azurite in the harness)."""

    name: str
    key: str
    endpoint: str  # where the site uploads, e.g. https://127.0.0.1:PORT/<account>
    public_endpoint: str  # what clients are told, e.g. https://<account>.blob.core.example:PORT


@dataclass(frozen=True, kw_only=True)
class ContentDeclarations:
    """Where a service that sends content declares it, so the network's links weigh it as model bytes."""

    url: str  # the network process's control base
    hosts: dict[str, str] = field(default_factory=dict)  # its name -> 127.0.0.1


@dataclass(frozen=True, kw_only=True)
class Listener:
    """Where a process listens: a socket the environment bound and handed over (`listen_fd`), or an address
    to bind (`listen`, 127.0.0.1:port; port 0 for any)."""

    listen: str = "127.0.0.1:0"
    listen_fd: int | None = None


# -- the base ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    """What every served process's configuration has. `serve` reads `tls` and `clock` before the app exists."""

    service: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ("tls", "clock")  # of the optional fields below, what this service needs
    tls: Tls | None = None
    clock: ModelClock | None = None
    log_level: str = "warning"  # uvicorn's

    def __post_init__(self) -> None:
        missing = [name for name in self.needs if getattr(self, name) is None]
        if missing:
            raise ConfigError(f"{self.service} configuration: missing value for {', '.join(missing)}")

    def to_json(self) -> dict[str, Any]:
        data = _json(self)
        assert isinstance(data, dict)
        return data

    @classmethod
    def from_json(cls, data: object) -> Self:
        if not isinstance(data, dict):
            raise ConfigError(f"{cls.service} configuration must be a JSON object, got {type(data).__name__}")
        try:
            return dacite.from_dict(cls, data, _DACITE)
        except ConfigError:
            raise
        except (dacite.DaciteError, ValueError, TypeError, KeyError) as error:
            raise ConfigError(f"{cls.service} configuration: {error}") from None

    @property
    def ca_path(self) -> Path:
        if self.tls is None:
            raise ConfigError(f"{self.service} configuration: tls.ca is needed (the CA the service trusts)")
        return self.tls.ca_path

    @property
    def model_clock(self) -> ModelClock:
        if self.clock is None:
            raise ConfigError(f"{self.service} configuration: clock is needed (the environment's model clock)")
        return self.clock


def _clock(data: object) -> ModelClock:
    if isinstance(data, ModelClock):
        return data
    if not isinstance(data, dict):
        raise ValueError(f"clock must be a JSON object (ModelClock.to_json), got {data!r}")
    return ModelClock.from_json(data)


_DACITE = dacite.Config(strict=True, type_hooks={ModelClock: _clock})


def _json(value: object) -> object:
    if isinstance(value, ModelClock):
        return value.to_json()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json(v) for f in fields(value) if (v := getattr(value, f.name)) is not None}
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    return value


# -- one per service --------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Host:
    name: str  # the site's name for it (dp2, PC01)
    fqdn: str


@dataclass(frozen=True, kw_only=True)
class CloudSource:
    """A CMG or cloud DP the site knows: where clients reach it and the storage account behind it."""

    name: str
    kind: Literal["cmg", "clouddp"]
    fqdn: str
    port: int
    storage: StorageAccount
    serve_content: bool = True  # a CMG's "Allow CMG to function as a cloud distribution point"
    installed: bool = True  # a cloud DP's deployment has finished
    deployment_name: str = ""  # a CMG's <name>.cloudapp.net, which its certificate does not cover


@dataclass(frozen=True, kw_only=True)
class SiteServiceConfig(ServiceConfig):
    """The site server: management point, its distribution points, the peer cache share, the content library."""

    service: ClassVar[str] = "site"
    key: str  # hex: the site's signing key (tokens, SAS)
    site_code: str
    version: int  # the Configuration Manager version: 2403, 2409, …
    mp_fqdn: str
    mp_port: int
    dp_name: str = "dp"  # the site server's own DP, on the MP's host
    other_dps: list[Host] = field(default_factory=list)
    peer_cache_sources: list[Host] = field(default_factory=list)
    cloud_sources: list[CloudSource] = field(default_factory=list)
    https_dps: list[str] = field(default_factory=list)  # DPs in HTTPS mode: they want a client certificate
    network: ContentDeclarations | None = None


@dataclass(frozen=True, kw_only=True)
class CmgServiceConfig(ServiceConfig):
    service: ClassVar[str] = "cmg"
    key: str
    cmg_id: str  # the MP's id in CCM_Proxy_MutualAuth/<id>
    mp_url: str  # the management point the CMG relays to
    hosts: dict[str, str] = field(default_factory=dict)  # how the CMG resolves the intranet names
    storage: StorageAccount


@dataclass(frozen=True, kw_only=True)
class CloudDpServiceConfig(ServiceConfig):
    service: ClassVar[str] = "clouddp"
    key: str
    name: str
    storage: StorageAccount


@dataclass(frozen=True, kw_only=True)
class Proxy(Listener):
    name: str  # the service behind it
    upstream: str  # 127.0.0.1:port


@dataclass(frozen=True, kw_only=True)
class NetworkServiceConfig(ServiceConfig):
    service: ClassVar[str] = "network"
    needs: ClassVar[tuple[str, ...]] = ()  # a network on its own (unit tests) has no clock and speaks plain HTTP
    seed: int = 0  # for faults that fire with a probability
    proxies: list[Proxy] = field(default_factory=list)
    authority: Listener | None = None  # the virtual clock's actors' port (virtual clock only)


@dataclass(frozen=True, kw_only=True)
class StorageServiceConfig(ServiceConfig):
    """The storage front: Azure's answers, SAS checks and faults in front of Azurite."""

    service: ClassVar[str] = "storage"
    upstream: str  # https://127.0.0.1:<Azurite's port>
    accounts: dict[str, str]  # account -> key: the accounts whose SAS the front checks
    network: ContentDeclarations | None = None
    cmg_egress: EgressTo | None = None  # where the CMG counts its storage account's egress


@dataclass(frozen=True, kw_only=True)
class EgressTo:
    """The CMG's control API, which counts what the CMG's storage account sends clients against its threshold."""

    url: str
    account: str  # the CMG's storage account
    hosts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SiteEndpoints:
    """Where the client agent's clients find their site."""

    site_code: str
    mp_url: str  # intranet management point, https://cm01.corp.contoso.example:PORT
    cmg_url: str  # the CMG as clients are given it: https://<cmg>:PORT/CCM_Proxy_MutualAuth/<id>


@dataclass(frozen=True, kw_only=True)
class Enrollment:
    cert: str  # the CA that issues PKI clients their certificates
    key: str


@dataclass(frozen=True, kw_only=True)
class AgentServiceConfig(ServiceConfig):
    service: ClassVar[str] = "client"
    endpoints: SiteEndpoints
    zones: dict[str, dict[str, str]]  # "internet" / "intranet" -> hostname -> address
    enrollment: Enrollment
    workdir: str | None = None  # the clients' files; none: a temporary folder
    default_settings: CloudServicesSettings = field(default_factory=CloudServicesSettings)


CONFIGS: dict[str, type[ServiceConfig]] = {c.service: c for c in (
    SiteServiceConfig, CmgServiceConfig, CloudDpServiceConfig, NetworkServiceConfig, StorageServiceConfig,
    AgentServiceConfig)}


@dataclass(frozen=True)
class ServiceConfigs:
    """An environment's six configurations, by service."""

    site: SiteServiceConfig
    cmg: CmgServiceConfig
    clouddp: CloudDpServiceConfig
    network: NetworkServiceConfig
    storage: StorageServiceConfig
    client: AgentServiceConfig

    def __getitem__(self, service: str) -> ServiceConfig:
        if service not in CONFIGS:
            raise KeyError(f"no service {service!r}: one of {', '.join(CONFIGS)}")
        config: ServiceConfig = getattr(self, service)
        return config

    def with_network(self, **changes: Any) -> ServiceConfigs:
        return replace(self, network=replace(self.network, **changes))

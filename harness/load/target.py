"""What a load needs to know of its environment, as one JSON file the Locust processes read
(`CMG_HARNESS_LOAD_TARGET`): where the CMG is and how its names resolve, what to trust, what the clients ask
for, and how they authenticate (a PKI certificate from the enrollment CA, or a site-issued token each)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import dacite

TARGET_ENV = "CMG_HARNESS_LOAD_TARGET"
STATS_ENV = "CMG_HARNESS_LOAD_STATS"  # where the locustfile writes the final figures (JSON)


class TargetError(ValueError):
    """A target file that cannot be used: the message names the file and what is wrong."""


@dataclass(frozen=True, kw_only=True)
class LoadTarget:
    environment: str  # local, containers, external
    site_code: str
    mp_url: str  # what the clients are told the MP is (they are on the internet: it does not answer them)
    cmg_url: str  # https://<cmg>:PORT/CCM_Proxy_MutualAuth/<id>
    hosts: dict[str, str]  # the names clients resolve, to addresses
    ca: str  # the CA that issued the services' certificates (PEM)
    packages: list[str]  # what each flow locates and downloads, in order
    package_version: int = 1
    deployment: str = ""  # the task sequence deployment the clients find in policy (informational)
    auth: Literal["pki", "token"] = "pki"
    enrollment_cert: str | None = None  # PKI: the enrollment CA that issues client certificates
    enrollment_key: str | None = None
    tokens: dict[str, str] = field(default_factory=dict)  # token: client name -> its site-issued token
    health_url: str = ""  # a cheap URL on the CMG, for Locust's own minimal user (the benchmark's baseline)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        path.chmod(0o600)  # tokens, and the enrollment key's path
        return path

    @classmethod
    def load(cls, path: Path) -> LoadTarget:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            target = dacite.from_dict(cls, data, dacite.Config(strict=True))
        except (OSError, ValueError, dacite.DaciteError) as error:
            raise TargetError(f"{path}: not a load target ({error})") from None
        if target.auth == "pki" and not (target.enrollment_cert and target.enrollment_key):
            raise TargetError(f"{path}: PKI clients need enrollment_cert and enrollment_key")
        if target.auth == "token" and not target.tokens:
            raise TargetError(f"{path}: token clients need tokens (one per client)")
        return target

    def client_names(self) -> Iterator[str]:
        """The clients' names in the order users take them: the token holders', or LOAD00001 … for PKI clients."""
        return iter(sorted(self.tokens)) if self.auth == "token" else (client_name(n) for n in itertools.count(1))


def client_name(number: int) -> str:
    """The name of the load's client `number` (from 1)."""
    return f"LOAD{number:05d}"

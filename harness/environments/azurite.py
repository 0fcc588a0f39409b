"""Azurite's blob service (the Azure Storage emulator from npm) as a managed process on 127.0.0.1, over HTTPS.

Clients reach it by product-style names (`https://<account>.blob.core.example:<port>/...`, the account
taken from the `Host` header) through the environment's resolver; the site uploads over `https://127.0.0.1:<port>/<account>`.
The server certificate should therefore cover `*.blob.core.example` (or the account names) and `127.0.0.1`.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

from harness.environments.processes import ManagedProcess, ProcessStartError
from harness.net.tls import ServerCert

# Azurite 3.35 prints "Azurite Blob service successfully listens on https://127.0.0.1:<port>".
_LISTENING = re.compile(r"successfully listen\w* (?:on|at) (?P<scheme>https?)://127\.0\.0\.1:(?P<port>\d+)")
_ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")


def find_azurite_blob(project_root: Path) -> Path:
    local = project_root.absolute() / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return local
    found = shutil.which("azurite-blob")
    if found is not None:
        return Path(found)
    raise FileNotFoundError(f"azurite-blob not found: run `npm ci` in {project_root}")


def generate_account_key() -> str:
    """A storage account key as Azure issues them: 64 random bytes, base64."""
    return base64.b64encode(secrets.token_bytes(64)).decode("ascii")


def azurite_accounts_value(accounts: Mapping[str, str]) -> str:
    """`AZURITE_ACCOUNTS`: `account1:key1;account2:key2` (names: 3–24 lower-case letters or digits)."""
    for name, key in accounts.items():
        if not _ACCOUNT_NAME.match(name):
            raise ValueError(f"storage account name {name!r} must be 3-24 lower-case letters or digits")
        base64.b64decode(key, validate=True)
    return ";".join(f"{name}:{key}" for name, key in accounts.items())


class AzuriteProcess:
    """One in-memory Azurite blob service. Declaring `accounts` disables the well-known `devstoreaccount1`."""

    def __init__(
        self,
        *,
        executable: Path,
        cert: ServerCert,
        accounts: Mapping[str, str],
        log_path: Path,
        workdir: Path,
    ) -> None:
        if not accounts:
            raise ValueError("Azurite needs at least one storage account")
        self.executable = executable
        self.cert = cert
        self.accounts = dict(accounts)
        self.workdir = workdir
        self.port: int | None = None
        self.ready_seconds: float | None = None
        self.process = ManagedProcess(
            "azurite-blob",
            self._argv(),
            log_path=log_path,
            env={**os.environ, "AZURITE_ACCOUNTS": azurite_accounts_value(self.accounts)},
            cwd=workdir,
        )

    def start(self, timeout: float = 30.0) -> int:
        """Starts the service and returns the port it listens on, once it does."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self.process.start()
        try:
            match = self.process.wait_for_line(_LISTENING, timeout)
            if match["scheme"] != "https":
                raise ProcessStartError(self.process.name, "listens without TLS", None, self.process.tail())
        except BaseException:
            self.process.stop()
            raise
        self.ready_seconds = time.monotonic() - started
        self.port = int(match["port"])
        return self.port

    def stop(self) -> None:
        self.process.stop()

    def _argv(self) -> list[str]:
        # Absolute paths: the process runs in `workdir`.
        return [
            str(self.executable.absolute()),
            "--blobHost", "127.0.0.1",
            "--blobPort", "0",
            "--inMemoryPersistence",
            "--disableTelemetry",  # without it Azurite tries to reach the internet
            "--skipApiVersionCheck",  # newer azure-storage-blob API versions than Azurite knows
            "--loose",  # ignore headers and parameters Azurite does not support
            "--cert", str(self.cert.cert_path.absolute()),
            "--key", str(self.cert.key_path.absolute()),
        ]  # fmt: skip

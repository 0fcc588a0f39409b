"""Azurite's blob service started over HTTPS with two accounts, reached by product-style names."""

import base64
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

from harness.environments.azurite import (
    AzuriteProcess,
    azurite_accounts_value,
    find_azurite_blob,
    generate_account_key,
)
from harness.net.http import make_client
from harness.net.tls import ServerCert, TestPKI

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CONTAINER = "content"
BLOB = "pkg/SMS00001/boot.wim"
DATA = os.urandom(300_000)


@dataclass
class Storage:
    port: int
    accounts: dict[str, str]
    ca_cert_path: Path

    def upload(self, account: str, data: bytes) -> None:
        with BlobServiceClient(
            f"https://127.0.0.1:{self.port}/{account}",
            credential={"account_name": account, "account_key": self.accounts[account]},
            connection_verify=str(self.ca_cert_path),
        ) as service:
            container = service.get_container_client(CONTAINER)
            if not container.exists():
                container.create_container()
            container.upload_blob(BLOB, data, overwrite=True)

    def sas(self, account: str) -> str:
        return generate_blob_sas(
            account,
            CONTAINER,
            BLOB,
            account_key=self.accounts[account],
            permission=BlobSasPermissions(read=True),
            expiry=datetime.now(UTC) + timedelta(hours=1),
        )

    def url_by_name(self, account: str, sas: str) -> str:
        return f"https://{account}.blob.core.example:{self.port}/{CONTAINER}/{BLOB}?{sas}"

    @property
    def hosts(self) -> dict[str, str]:
        return {f"{account}.blob.core.example": "127.0.0.1" for account in self.accounts}


@pytest.fixture(scope="module")
def executable() -> Path:
    try:
        return find_azurite_blob(PROJECT_ROOT)
    except FileNotFoundError as missing:
        pytest.skip(f"Azurite is not installed ({missing})")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def blob_cert(pki: TestPKI) -> ServerCert:
    return pki.issue_server_cert("azurite", ["*.blob.core.example", "127.0.0.1"])


@pytest.fixture(scope="module")
def storage(
    executable: Path, pki: TestPKI, blob_cert: ServerCert, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Storage]:
    accounts = {"contentacct": generate_account_key(), "backupacct": generate_account_key()}
    workdir = tmp_path_factory.mktemp("azurite")
    azurite = AzuriteProcess(
        executable=executable,
        cert=blob_cert,
        accounts=accounts,
        log_path=workdir / "azurite.log",
        workdir=workdir,
    )
    port = azurite.start()
    try:
        storage = Storage(port, accounts, pki.ca_cert_path)
        storage.upload("contentacct", DATA)
        yield storage
    finally:
        azurite.stop()


def test_blob_is_downloaded_by_name_with_a_service_sas(storage: Storage) -> None:
    with make_client(storage.hosts, storage.ca_cert_path) as client:
        response = client.get(storage.url_by_name("contentacct", storage.sas("contentacct")))

    assert response.status_code == 200
    assert response.content == DATA


def test_range_request_returns_the_exact_slice(storage: Storage) -> None:
    with make_client(storage.hosts, storage.ca_cert_path) as client:
        response = client.get(
            storage.url_by_name("contentacct", storage.sas("contentacct")),
            headers={"Range": "bytes=1000-4999"},
        )

    assert response.status_code == 206
    assert response.content == DATA[1000:5000]


def test_tampered_sas_is_refused(storage: Storage) -> None:
    sas = storage.sas("contentacct")
    signature = sas.split("sig=")[1]
    tampered = sas.replace(signature, ("A" if signature[0] != "A" else "B") + signature[1:])

    with make_client(storage.hosts, storage.ca_cert_path) as client:
        response = client.get(storage.url_by_name("contentacct", tampered))

    assert response.status_code == 403
    assert "AuthorizationFailure" in response.text


def test_second_account_has_its_own_key_and_the_account_comes_from_the_host(storage: Storage) -> None:
    storage.upload("backupacct", b"backup copy")

    with make_client(storage.hosts, storage.ca_cert_path) as client:
        own = client.get(storage.url_by_name("backupacct", storage.sas("backupacct")))
        other_key = client.get(storage.url_by_name("backupacct", storage.sas("contentacct")))

    assert (own.status_code, own.content) == (200, b"backup copy")
    assert other_key.status_code == 403


def test_stop_closes_the_port_and_start_reports_readiness(
    executable: Path, blob_cert: ServerCert, tmp_path: Path
) -> None:
    azurite = AzuriteProcess(
        executable=executable,
        cert=blob_cert,
        accounts={"solo": generate_account_key()},
        log_path=tmp_path / "azurite.log",
        workdir=tmp_path / "work",
    )
    port = azurite.start()
    assert port == azurite.port
    assert azurite.ready_seconds is not None and 0 < azurite.ready_seconds < 30

    azurite.stop()

    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    assert "successfully listens on https://127.0.0.1" in (tmp_path / "azurite.log").read_text()


def test_accounts_are_passed_in_azurite_format() -> None:
    key_a, key_b = generate_account_key(), generate_account_key()

    assert azurite_accounts_value({"site1": key_a, "site2": key_b}) == f"site1:{key_a};site2:{key_b}"
    assert len(base64.b64decode(key_a)) == 64
    with pytest.raises(ValueError, match="lower-case"):
        azurite_accounts_value({"Contoso_Storage": key_a})


def test_missing_azurite_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(FileNotFoundError, match="run `npm ci` in"):
        find_azurite_blob(tmp_path)


def test_found_executable_path_is_absolute(executable: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT_ROOT)

    assert find_azurite_blob(Path(".")) == executable
    assert executable.is_absolute()

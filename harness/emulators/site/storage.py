"""How the site puts package content where clients will look for it.

Cloud sources (a content-enabled CMG, a cloud DP) get blobs in their own storage account through
the real Azure SDK; the site server's own DP keeps nothing (its bytes are regenerated on request).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient

from harness.model.content import corrupted, iter_content
from harness.protocol.paths import CONTENT_CONTAINER
from harness.service.configs import StorageAccount
from harness.service.control import HttpError

# The blobs carry the package hash and version as metadata, so the CMG content service can serve from storage alone.
# The SDK's default retries (15 s backoff and up) turn a storage account that is down into a
# minute-long hang; two retries half a second apart tell the caller within seconds.
FAIL_FAST: dict[str, Any] = {"retry_total": 2, "initial_backoff": 0.5, "increment_base": 0,
                             "random_jitter_range": 0, "connection_timeout": 5, "read_timeout": 30}


def container_client(account: StorageAccount, ca_cert: Path) -> ContainerClient:
    service = BlobServiceClient(account.endpoint, credential={"account_name": account.name,
                                                             "account_key": account.key},
                                connection_verify=str(ca_cert), **FAIL_FAST)
    return service.get_container_client(CONTENT_CONTAINER)


def storage_error(account: StorageAccount, action: str, error: AzureError) -> HttpError:
    """What to answer when the storage account failed: 502 if it refused, 503 if it did not answer."""
    detail = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
    if isinstance(error, HttpResponseError):
        return HttpError(502, f"storage account {account.name} refused to {action}: {detail}")
    return HttpError(503, f"storage account {account.name} did not answer when asked to {action}: {detail}")


class BlobContent:
    """Writes and clears one storage account's package blobs, in a container of the site's own.

    Clearing deletes the whole container (one request, however many blobs a scenario left), and only if the site
    wrote to it since the last clear; the next upload creates it again. Azurite removes a container at once,
    where Azure would answer 409 ContainerBeingDeleted for a while: fine for a world reset between scenarios."""

    def __init__(self, account: StorageAccount, ca_cert: Path) -> None:
        self.account = account
        self._container = container_client(account, ca_cert)
        self._created = False  # the container exists: created since the last clear
        self._written = True  # anything may be in the container (at first: whatever an earlier process left)

    def upload(self, package_id: str, version: int, file_name: str, size: int, sha256: str,
               *, damaged: bool = False) -> None:
        """Writes the package's bytes; `damaged` writes a copy with a wrong byte under the right hash."""
        chunks = iter_content(package_id, version, size)
        self._written = True  # before any request: one that failed may still have been carried out
        try:
            self._ensure_container()
            blob = self._container.get_blob_client(f"{package_id}/{file_name}")
            blob.upload_blob(b"".join(corrupted(chunks) if damaged else chunks), overwrite=True,
                             metadata={"packageid": package_id, "version": str(version), "sha256": sha256})
        except AzureError as error:
            raise storage_error(self.account, f"store package {package_id}", error) from None

    def clear(self) -> None:
        if not self._written:
            return
        self._created = False
        try:
            with contextlib.suppress(ResourceNotFoundError):
                self._container.delete_container()
        except AzureError as error:
            raise storage_error(self.account, "remove the package blobs", error) from None
        self._written = False

    def _ensure_container(self) -> None:
        if self._created:
            return
        with contextlib.suppress(ResourceExistsError):
            self._container.create_container()
        self._created = True

    def close(self) -> None:
        self._container.close()

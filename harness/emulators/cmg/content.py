"""The CMG content service: checks the content token and answers with time-limited blob URLs.

A cloud DP answers the same way from its own storage account; this room is shared by both.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from azure.core.exceptions import AzureError
from azure.storage.blob import BlobSasPermissions, ContainerClient, generate_blob_sas
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from harness.clock.model_clock import ModelClock
from harness.emulators.site.storage import container_client, storage_error
from harness.protocol.cmtrace import Severity
from harness.protocol.content_url import ContentUrl, parse_content_query
from harness.protocol.errors import ProtocolError
from harness.protocol.manifest import ContentManifest, ManifestFile, build_manifest
from harness.protocol.tokens import Token, TokenError, verify_token
from harness.service.configs import StorageAccount
from harness.service.control import HttpError, ServiceLogs

# [INFERENCE] How long a manifest's SAS URLs stay valid is undocumented; they get the content URL's documented
# 8-hour st/et window. They are signed in model time, as a real CMG signs them in real time; the storage front
# checks them against model time (harness/emulators/storage/sas.py).
SAS_LIFETIME = timedelta(hours=8)
SAS_CLOCK_SKEW = timedelta(minutes=5)  # the usual Azure allowance for client clock skew


class ContentService:
    def __init__(self, account: StorageAccount, ca_cert: Path, key: bytes, clock: ModelClock,
                 logs: ServiceLogs, log_name: str) -> None:
        self.account = account
        self.key = key
        self.clock = clock
        self._logs = logs
        self._log_name = log_name
        self._container: ContainerClient = container_client(account, ca_cert)

    def log(self, message: str, severity: Severity = Severity.INFO) -> None:
        self._logs.write(self._log_name, message, severity=severity)

    def authorize(self, url: ContentUrl, bearer: str | None) -> Token:
        try:
            token = self._check(url, bearer)
        except HttpError as refusal:
            # [INFERENCE] wording; the documentation quotes only this log's storage error line.
            self.log(f"Request for pid={url.package_id} cid={url.content_id} tid={url.tid} refused with "
                     f"{refusal.status}: {refusal.reason}", Severity.ERROR)
            raise
        self.log(f"Validated content access token for {token.subject}: pid={url.package_id} cid={url.content_id} "
                 f"tid={url.tid} iss={url.issuer}")
        return token

    def _check(self, url: ContentUrl, bearer: str | None) -> Token:
        if not bearer:
            raise HttpError(401, "a content access token is required (Authorization: Bearer …)")
        now = self.clock.now()
        try:
            token = verify_token(bearer, self.key, kind="content", now=now)
        except TokenError as error:
            raise HttpError(401, f"content access token rejected: {error.reason}") from None
        if token.claim("pid") != url.package_id:
            raise HttpError(403, f"content access token is for {token.claim('pid')}, not {url.package_id}")
        if not url.start <= now.replace(tzinfo=url.start.tzinfo) <= url.end:
            raise HttpError(403, f"content URL valid from {url.start:%Y-%m-%dT%H:%M:%S} to "
                                 f"{url.end:%Y-%m-%dT%H:%M:%S}; it is now {now:%Y-%m-%dT%H:%M:%S}")
        return token

    async def answer(self, request: Request) -> Response:
        """GET …/downloadrestservice.svc/getcontentxmlsecure?pid=…: token and window checked, then the manifest."""
        base = f"{request.url.scheme}://{request.url.netloc}"
        try:
            url = parse_content_query(dict(request.query_params), base)
        except ProtocolError as error:
            self.log(f"Refused malformed content request {request.url.query[:300]!r}: {error}", Severity.WARNING)
            raise
        header = request.headers.get("authorization", "")
        self.authorize(url, header.removeprefix("Bearer ") if header.startswith("Bearer ") else None)
        manifest = await run_in_threadpool(self.manifest, url)
        return Response(build_manifest(manifest), media_type="text/xml; charset=utf-8")

    def manifest(self, url: ContentUrl) -> ContentManifest:
        try:
            blobs = list(self._container.list_blobs(name_starts_with=f"{url.package_id}/", include=["metadata"]))
        except AzureError as error:
            # The line's opening is the product's; the exception is the Python SDK's.
            detail = str(error).splitlines()[0][:300] if str(error) else ""
            self.log(f"ERROR: Exception processing request. {type(error).__module__}.{type(error).__name__}: "
                     f"{detail}", Severity.ERROR)
            raise storage_error(self.account, f"list content {url.content_id}", error) from None
        if not blobs:
            self.log(f"ERROR: content {url.content_id} is not in storage account {self.account.name}", Severity.ERROR)
            raise HttpError(404, f"content {url.content_id} is not in storage account {self.account.name}")
        meta = blobs[0].metadata or {}
        files = tuple(ManifestFile(name=b.name.split("/", 1)[1], size=int(b.size or 0), url=self._sas_url(b.name))
                      for b in blobs)
        manifest = ContentManifest(package_id=url.package_id, version=int(meta.get("version", "1")),
                                   hash_sha256=meta.get("sha256", ""), files=files)
        self.log(f"Served content manifest for pid={url.package_id} version {manifest.version}: {len(files)} files, "
                 f"{sum(f.size for f in files)} bytes, SAS URLs on {self.account.public_endpoint}")
        return manifest

    def _sas_url(self, blob_name: str) -> str:
        now = self.clock.now()
        sas = generate_blob_sas(self.account.name, self._container.container_name, blob_name,
                                account_key=self.account.key, permission=BlobSasPermissions(read=True),
                                start=now - SAS_CLOCK_SKEW, expiry=now + SAS_LIFETIME)
        return f"{self.account.public_endpoint}/{self._container.container_name}/{quote(blob_name)}?{sas}"

    def close(self) -> None:
        self._container.close()

"""Getting one package's content from the locations the management point returned.

Cloud records: content URL + access token -> manifest -> blobs straight from storage (spec §2.2,
§2.3 [S11][S14]). Distribution point records: WebDAV PROPFIND listing -> GET each file. Every
attempt lands on the timeline with its source; the hash is checked before anything uses the content.
"""

from __future__ import annotations

import hashlib
import shutil
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from defusedxml import ElementTree

from harness.client.logs import ClientLogs
from harness.client.timeline import Timeline
from harness.model.errors import HResult
from harness.model.units import Scale
from harness.protocol.cmtrace import Severity
from harness.protocol.errors import ProtocolError
from harness.protocol.location import ContentLocationReply, LocationRecord
from harness.protocol.manifest import parse_manifest

DOWNLOAD_AGENT = "SMS CCM 5.0 TS"
_CHUNK = 256 * 1024


class DownloadError(Exception):
    def __init__(self, hresult: HResult, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.hresult = hresult
        self.status = status  # the HTTP status that caused it, if one did


class TokenRejected(DownloadError):
    """A content service refused the reply's access token or URL window: retrying the same reply is useless,
    the client must ask for locations again (spec §2.3 [S11], §8.13)."""


@dataclass(frozen=True)
class RemoteFile:
    name: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RetryPolicy:
    """SMSTSDownloadRetryCount / SMSTSDownloadRetryDelay (defaults 2 and 15 s, spec §2.6 [S25])."""

    count: int = 0
    delay: float = 0.0  # model seconds
    sleep: Callable[[float], None] = lambda seconds: None


@dataclass(frozen=True)
class Downloaded:
    source: str
    path: Path
    bytes: int


def source_name(record: LocationRecord) -> str:
    return urlsplit(record.url).hostname or record.server_remote_name.lower()


class ContentDownloader:
    def __init__(self, http: httpx.Client, timeline: Timeline, logs: ClientLogs, scale: Scale,
                 log: str = "smsts.log", component: str = "TSManager") -> None:
        self.http = http
        self.timeline = timeline
        self.logs = logs
        self.scale = scale
        self.log = log
        self.component = component

    def fetch(self, package_id: str, version: int, reply: ContentLocationReply, destination: Path,
              retry: RetryPolicy | None = None) -> Downloaded:
        """Try each location in the order given, each `1 + retries` times; the first verified content wins."""
        retry = retry or RetryPolicy()
        last = DownloadError(HResult.NO_CONTENT_LOCATION, f"no location for {package_id}:{version}")
        for record in reply.records:
            for attempt in range(retry.count + 1):
                try:
                    return self._fetch_from(package_id, record, reply, destination)
                except TokenRejected:
                    raise
                except DownloadError as error:
                    self._say(f"Failed to download {package_id} from {record.url.split('?')[0]}: {error}", error=True)
                    last = error
                if attempt < retry.count:
                    self._say(f"Retrying download of {package_id} in {retry.delay:g} seconds "
                              f"(retry {attempt + 1} of {retry.count})")
                    self.timeline.record("download.retry", package=package_id, source=source_name(record),
                                         retry=attempt + 1, delay_s=retry.delay)
                    retry.sleep(retry.delay)
        raise last

    def _fetch_from(self, package_id: str, record: LocationRecord, reply: ContentLocationReply,
                    destination: Path) -> Downloaded:
        source = source_name(record)
        self.timeline.record("download.start", package=package_id, source=source, dp_type=record.dp_type)
        shutil.rmtree(destination, ignore_errors=True)
        destination.mkdir(parents=True)
        try:
            files = self._list(record, reply)
            size = sum(self._get(f, destination) for f in files)
            self._verify(package_id, destination, files, reply.hash_sha256)
        except DownloadError as error:
            self.timeline.record("download.end", package=package_id, source=source, result="failed",
                                 hresult=error.hresult.hex, reason=str(error))
            shutil.rmtree(destination, ignore_errors=True)
            raise
        self.timeline.record("download.end", package=package_id, source=source, result="succeeded",
                             bytes=size, model_bytes=round(size * self.scale.factor))
        return Downloaded(source, destination, size)

    def _list(self, record: LocationRecord, reply: ContentLocationReply) -> list[RemoteFile]:
        if record.dp_type == "CLOUD":
            return self._manifest_files(record, reply.access_token)
        return self._dp_files(record)

    def _manifest_files(self, record: LocationRecord, token: str | None) -> list[RemoteFile]:
        self.logs.write("DataTransferService.log", f"Target URL scheme is HTTPS: {record.url}")
        headers = {"User-Agent": DOWNLOAD_AGENT, **({"Authorization": f"Bearer {token}"} if token else {})}
        try:
            response = self._request("GET", record.url, headers)
        except DownloadError as error:
            if error.status in (401, 403):
                raise TokenRejected(error.hresult, str(error), error.status) from None
            raise
        try:
            manifest = parse_manifest(response.text)
        except ProtocolError as error:
            raise DownloadError(HResult.MANIFEST_ERROR, f"Error retrieving manifest (0x87d0027e): {error}") from None
        return [RemoteFile(f.name, f.url) for f in manifest.files]

    def _dp_files(self, record: LocationRecord) -> list[RemoteFile]:
        response = self._request("PROPFIND", record.url, {"Depth": "1", "User-Agent": DOWNLOAD_AGENT})
        base = urlsplit(record.url)
        try:
            hrefs = [e.text or "" for e in ElementTree.fromstring(response.text).iter("{DAV:}href")]
        except ElementTree.ParseError as error:
            raise DownloadError(HResult.E_FAIL, f"unreadable PROPFIND listing from {record.url}: {error}") from None
        prefix = base.path.rstrip("/") + "/"
        return [RemoteFile(h.removeprefix(prefix), f"{base.scheme}://{base.netloc}{h}") for h in hrefs
                if h.startswith(prefix)]

    def _get(self, remote: RemoteFile, destination: Path) -> int:
        target = destination / remote.name
        if destination.resolve() not in target.resolve().parents:
            raise DownloadError(HResult.E_FAIL, f"refusing file name {remote.name!r} outside the package folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        self._say(f"Downloading file from {remote.url.split('?')[0]} to {target.name}")
        written = 0
        try:
            with self.http.stream("GET", remote.url, headers={"User-Agent": DOWNLOAD_AGENT}) as response:
                self._check(response, remote.url)
                with target.open("wb") as out:
                    for chunk in response.iter_bytes(_CHUNK):
                        out.write(chunk)
                        written += len(chunk)
        except httpx.HTTPError as error:
            where = remote.url.split("?")[0]
            raise DownloadError(_hresult_for(error), f"Download() of {where} failed: {error}") from None
        return written

    def _verify(self, package_id: str, folder: Path, files: list[RemoteFile], expected: str | None) -> None:
        digest = hashlib.sha256()
        for remote in files:
            with (folder / remote.name).open("rb") as data:
                while chunk := data.read(_CHUNK):
                    digest.update(chunk)
        if expected is None or digest.hexdigest().upper() != expected.upper():
            raise DownloadError(HResult.HASH_MISMATCH, f"Hash could not be matched for the downloaded content "
                                                       f"{package_id} (0x80091007)")
        self._say(f"Hash verification succeeded for content {package_id}")

    def _request(self, method: str, url: str, headers: dict[str, str]) -> httpx.Response:
        try:
            response = self.http.request(method, url, headers=headers)
        except httpx.HTTPError as error:
            if _certificate_name_invalid(error):
                # The lines DataTransferService.log shows for this failure (spec §3.4 [S34]).
                self.logs.write("DataTransferService.log", "[CCMHTTP] AsyncCallback(): "
                                "WINHTTP_CALLBACK_STATUS_SECURE_FAILURE Encountered", severity=Severity.ERROR)
                self.logs.write("DataTransferService.log", "[CCMHTTP]            : "
                                "WINHTTP_CALLBACK_STATUS_FLAG_CERT_CN_INVALID is set", severity=Severity.ERROR)
                raise DownloadError(HResult.SECURE_FAILURE, f"{method} {url.split('?')[0]} failed: the server "
                                                            f"certificate does not match the name ({error})") from None
            raise DownloadError(_hresult_for(error), f"{method} {url} failed: {error}") from None
        self._check(response, url)
        return response

    def _check(self, response: httpx.Response, url: str) -> None:
        if response.status_code < 400:
            return
        response.read()
        where, said = url.split("?")[0], response.text.strip()[:200]
        if response.status_code == 401:
            raise DownloadError(HResult.HTTP_401, f"{where} answered 401 (0x80190191): {said}", 401)
        raise DownloadError(HResult.E_FAIL, f"WinHttpQueryHeaders() returns status code {response.status_code} "
                                            f"for {where}: {said}", response.status_code)

    def _say(self, message: str, error: bool = False) -> None:
        self.logs.write(self.log, message, component=self.component,
                        severity=Severity.ERROR if error else Severity.INFO)


def _certificate_name_invalid(error: httpx.HTTPError) -> bool:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "match" in str(cause).lower()  # "Hostname mismatch, certificate is not valid for '…'"
        cause = cause.__cause__ or cause.__context__
    return False


def _hresult_for(error: httpx.HTTPError) -> HResult:
    if "0x80072EE7" in str(error):
        return HResult.NAME_NOT_RESOLVED
    if isinstance(error, httpx.TimeoutException):
        return HResult.TIMEOUT
    return HResult.E_FAIL

"""Getting one package's content from the locations the management point returned.

Cloud records: content URL + access token -> manifest -> blobs straight from storage (B-45,
B-46). Distribution point records: WebDAV PROPFIND listing -> GET each file. The client tries
the records in the order `try_order` gives (cloud sources drawn at random), each `1 + SMSTSDownloadRetryCount`
times SMSTSDownloadRetryDelay apart, then falls back to the next (B-31, B-33). A later attempt on the same
source resumes a file it was cut off in with a Range request. Every attempt lands on the timeline with its
source; the hash of the whole content is checked before anything uses it.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from defusedxml import ElementTree

from harness.client import engine_log
from harness.client.engine_log import Auth
from harness.client.link import CONTENT
from harness.client.logs import ClientLogs
from harness.client.sources import CLOUD, INTERNET, intranet_only, source_name, try_order
from harness.client.timeline import Timeline
from harness.client.winhttp import certificate_name_invalid, reason_phrase, transport_hresult
from harness.model.errors import HResult, hresult_text, http_error
from harness.model.units import Scale
from harness.protocol.cmtrace import Severity
from harness.protocol.errors import ProtocolError
from harness.protocol.location import ContentLocationReply, LocationRecord
from harness.protocol.manifest import parse_manifest

DOWNLOAD_AGENT = "SMS CCM 5.0 TS"
_CHUNK = 256 * 1024
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(?:\d+|\*)")


class Transport(Enum):
    """Who downloads (B-24, B-32): the task sequence engine's own WinHTTP transport (on demand, Download Package
    Content), or the client's CAS -> DTS -> BITS path (download all, pre-cache, Install Application). Each
    writes its own log, and they report a listing the server refused differently. The engine's lines are the
    running step program's (no component of their own)."""

    ENGINE = "task sequence engine"
    DTS = "DTS"

    @property
    def log(self) -> str:
        return "smsts.log" if self is Transport.ENGINE else "DataTransferService.log"

    @property
    def component(self) -> str | None:
        return None if self is Transport.ENGINE else "DataTransferService"


class DownloadError(Exception):
    def __init__(self, hresult: int, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.hresult = hresult
        self.status = status  # the HTTP status that caused it, if one did


class TokenRejected(DownloadError):
    """A content service refused the reply's access token or URL window: retrying the same reply is useless,
    the client must ask for locations again (B-45)."""


@dataclass(frozen=True)
class RemoteFile:
    name: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RetryPolicy:
    """SMSTSDownloadRetryCount / SMSTSDownloadRetryDelay (defaults 2 and 15 s, B-31)."""

    count: int = 0
    delay: float = 0.0  # model seconds
    sleep: Callable[[float], None] = lambda seconds: None


@dataclass(frozen=True)
class Downloaded:
    source: str
    path: Path
    bytes: int


@dataclass
class _Attempts:
    """One source's attempts at one package. A file an attempt was cut off in keeps its bytes on disk and the
    next attempt asks only for the rest, as BITS resumes a job; [INFERENCE] the task sequence engine's
    transport resumes the same way (the documentation says nothing of either)."""

    package_id: str
    record: LocationRecord
    cut: dict[str, int] = field(default_factory=dict)  # file name -> its bytes on disk

    @property
    def source(self) -> str:
        return source_name(self.record)

    @property
    def where(self) -> str:
        return self.record.url.split("?")[0]

    def reached(self, name: str, got: int) -> None:
        self.cut[name] = got


class ContentDownloader:
    def __init__(self, http: httpx.Client, timeline: Timeline, logs: ClientLogs, scale: Scale,
                 transport: Transport = Transport.ENGINE, windows_path: Callable[[Path], str] = str) -> None:
        """`windows_path` names a local file as the client's logs do (C:\\_SMSTaskSequence\\…)."""
        self.http = http
        self.windows_path = windows_path
        self.timeline = timeline
        self.logs = logs
        self.scale = scale
        self.transport = transport
        self.last_location: str | None = None  # the last location tried (_SMSTSLastContentDownloadLocation)

    def fetch(self, package_id: str, version: int, reply: ContentLocationReply, destination: Path,
              retry: RetryPolicy | None = None) -> Downloaded:
        """Tries the locations in the reply's order (see try_order), each `1 + retry.count` times; the first
        verified content wins. Raises the last location's error when none delivers, leaving nothing behind."""
        retry = retry or RetryPolicy()
        error = DownloadError(HResult.NO_CONTENT_LOCATION, f"no location for {package_id}:{version}")
        for index, record in enumerate(reply.records):
            if index:
                self._fall_back(package_id, reply.records[index - 1], record)
            try:
                return self._try_source(_Attempts(package_id, record), reply, destination, retry)
            except TokenRejected:
                shutil.rmtree(destination, ignore_errors=True)
                raise
            except DownloadError as failed:
                error = failed
        shutil.rmtree(destination, ignore_errors=True)
        raise error

    def _try_source(self, attempts: _Attempts, reply: ContentLocationReply, destination: Path,
                    retry: RetryPolicy) -> Downloaded:
        attempt = 1
        while True:
            try:
                return self._fetch_from(attempts, reply, destination, attempt)
            except TokenRejected:
                raise
            except DownloadError as error:
                self._say(f"Failed to download {attempts.package_id} from {attempts.where}: {error}", Severity.ERROR)
                if attempt > retry.count:
                    raise
            self._wait_to_retry(attempts, attempt, retry)
            attempt += 1

    def _wait_to_retry(self, attempts: _Attempts, retry_number: int, retry: RetryPolicy) -> None:
        self._say(f"Retrying download of {attempts.package_id} in {retry.delay:g} seconds "
                  f"(retry {retry_number} of {retry.count})")
        self.timeline.record("download.retry", package=attempts.package_id, source=attempts.source,
                             retry=retry_number, delay_s=retry.delay)
        retry.sleep(retry.delay)

    def _fall_back(self, package_id: str, failed: LocationRecord, following: LocationRecord) -> None:
        self._say(f"Download of {package_id} from {failed.url.split('?')[0]} failed after its retries; trying the "
                  f"next location {following.url.split('?')[0]}", Severity.WARNING)
        self.timeline.record("download.fallback", package=package_id, source=source_name(failed),
                             next=source_name(following))

    def _fetch_from(self, attempts: _Attempts, reply: ContentLocationReply, destination: Path,
                    attempt: int) -> Downloaded:
        pid, source, record = attempts.package_id, attempts.source, attempts.record
        self.last_location = attempts.where
        self.timeline.record("download.start", package=pid, source=source, dp_type=record.dp_type, attempt=attempt)
        if attempt == 1:  # a new source starts from nothing
            shutil.rmtree(destination, ignore_errors=True)
        destination.mkdir(parents=True, exist_ok=True)
        try:
            files = self._list(record, reply)
            size = sum(self._get(f, destination, attempts) for f in files)
            self._verify(pid, destination, files, reply.hash_sha256)
        except DownloadError as error:
            if error.hresult == HResult.HASH_MISMATCH:  # nothing this source delivered can be trusted
                shutil.rmtree(destination, ignore_errors=True)
                attempts.cut.clear()
            status = {} if error.status is None else {"http_status": error.status}
            self.timeline.record("download.end", package=pid, source=source, result="failed",
                                 hresult=hresult_text(error.hresult), reason=str(error), attempt=attempt, **status)
            raise
        self.timeline.record("download.end", package=pid, source=source, result="succeeded",
                             bytes=size, model_bytes=round(size * self.scale.factor), attempt=attempt)
        return Downloaded(source, destination, size)

    # -- the listing -------------------------------------------------------------------------------

    def _list(self, record: LocationRecord, reply: ContentLocationReply) -> list[RemoteFile]:
        try:
            if record.dp_type == CLOUD:
                return self._manifest_files(record, reply.access_token)
            return self._dp_files(record)
        except DownloadError as error:
            if self.transport is Transport.DTS and error.status is not None:
                raise self._manifest_error(record.url, error.status, error) from None
            raise

    def _manifest_files(self, record: LocationRecord, token: str | None) -> list[RemoteFile]:
        self.logs.write("DataTransferService.log", f"Target URL scheme is HTTPS: {record.url}")
        headers = {"User-Agent": DOWNLOAD_AGENT, **({"Authorization": f"Bearer {token}"} if token else {})}
        try:
            auth = Auth.AUTHENTICATOR if token else Auth.ANONYMOUS_CONTENT
            response = self._request("GET", record.url, headers, auth)
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
        response = self._request("PROPFIND", record.url, {"Depth": "1", "User-Agent": DOWNLOAD_AGENT},
                                 Auth.ANONYMOUS_CONTENT)
        base = urlsplit(record.url)
        try:
            hrefs = [e.text or "" for e in ElementTree.fromstring(response.text).iter("{DAV:}href")]
        except ElementTree.ParseError as error:
            raise DownloadError(HResult.E_FAIL, f"unreadable PROPFIND listing from {record.url}: {error}") from None
        prefix = base.path.rstrip("/") + "/"
        return [RemoteFile(h.removeprefix(prefix), f"{base.scheme}://{base.netloc}{h}") for h in hrefs
                if h.startswith(prefix)]

    def _manifest_error(self, url: str, status: int, error: DownloadError) -> DownloadError:
        """DTS reports a listing the server refused as "Error retrieving manifest", whatever the status: its
        documented lines for a content service's 400 (B-56) and a DP's PROPFIND 405 (B-32)."""
        for line in (f"Request to {url} failed with {status}",
                     f"Error sending DAV request. HTTP code {status}, status '{reason_phrase(status)}'",
                     f"GetDirectoryList_HTTP('{url}') failed with code 0x87d0027e.",
                     "Error retrieving manifest (0x87d0027e)."):
            self._say(line, Severity.ERROR)
        return DownloadError(HResult.MANIFEST_ERROR, f"Error retrieving manifest (0x87d0027e): {error}", status)

    # -- the files ---------------------------------------------------------------------------------

    def _get(self, remote: RemoteFile, destination: Path, attempts: _Attempts) -> int:
        """One file, whole on disk; its size. Asks only for the rest of a file an earlier attempt was cut off in."""
        target = destination / remote.name
        if destination.resolve() not in target.resolve().parents:
            raise DownloadError(HResult.E_FAIL, f"refusing file name {remote.name!r} outside the package folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        offset = self._resume_offset(remote, target, attempts)
        headers = {"User-Agent": DOWNLOAD_AGENT, **({"Range": f"bytes={offset}-"} if offset else {})}
        self._sending("GET", remote.url, Auth.ANONYMOUS_CONTENT, target)
        try:
            with self.http.stream("GET", remote.url, headers=headers, extensions={CONTENT: True}) as response:
                start = self._start(response, remote, offset, attempts)
                size = self._write(response, target, start, partial(attempts.reached, remote.name))
        except httpx.HTTPError as error:
            raise self._transport_error("Download() of", remote.url, error) from None
        attempts.cut.pop(remote.name, None)
        self._downloaded(remote.url, target)
        return size

    def _resume_offset(self, remote: RemoteFile, target: Path, attempts: _Attempts) -> int:
        got = attempts.cut.get(remote.name, 0)
        if not got or not target.is_file() or target.stat().st_size != got:
            attempts.cut.pop(remote.name, None)
            return 0
        # [INFERENCE] the wording: no public log quotes a line for a resumed download.
        self._say(f"Resuming download of {remote.name} from {remote.url.split('?')[0]} at byte {got}")
        self.timeline.record("download.resume", package=attempts.package_id, source=attempts.source,
                             file=remote.name, offset=got)
        return got

    def _start(self, response: httpx.Response, remote: RemoteFile, offset: int, attempts: _Attempts) -> int:
        """Where in the file the answer's body goes: `offset` for the 206 its Range asked for, 0 for a whole file.
        A resume the server does not serve is forgotten, so that the next attempt starts over (416 included)."""
        resumed = offset > 0 and _range_start(response) == offset
        if offset and not resumed:
            attempts.cut.pop(remote.name, None)
        self._check(response, remote.url)
        if resumed:
            return offset
        if response.status_code == HTTPStatus.PARTIAL_CONTENT:
            raise DownloadError(HResult.E_FAIL, f"{remote.url.split('?')[0]} answered Content-Range "
                                                f"{response.headers.get('content-range')!r} to Range: bytes={offset}-")
        if offset:
            self._say(f"{remote.url.split('?')[0]} sent the whole file (HTTP {response.status_code}) to a range "
                      f"request: downloading {remote.name} from the start", Severity.WARNING)
        return 0

    def _write(self, response: httpx.Response, target: Path, start: int, progress: Callable[[int], None]) -> int:
        """Writes the body from byte `start` of the file, reporting the bytes on disk after each chunk so that a cut
        answer can be resumed; the file's size once the body is complete."""
        position = start
        with target.open("r+b" if start else "wb") as out:
            out.seek(start)
            out.truncate()
            for chunk in response.iter_bytes():  # as received: a chunk held back for size is lost in a cut
                out.write(chunk)
                position += len(chunk)
                progress(position)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and position - start < int(declared):
            raise DownloadError(HResult.CONNECTION_ERROR, f"the answer from {str(response.url).split('?')[0]} ended "
                                                          f"after {position - start} of {declared} bytes (0x80072EFE)")
        return position

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

    # -- HTTP --------------------------------------------------------------------------------------

    def _request(self, method: str, url: str, headers: dict[str, str], auth: Auth) -> httpx.Response:
        self._sending(method, url, auth)
        try:
            response = self.http.request(method, url, headers=headers)
        except httpx.HTTPError as error:
            raise self._transport_error(method, url, error) from None
        self._check(response, url)
        if self.transport is Transport.ENGINE:
            engine_log.succeeded(self.logs)
        return response

    def _sending(self, method: str, url: str, auth: Auth, target: Path | None = None) -> None:
        """The engine's transport names each request it sends (engine_log); DTS names each file it hands BITS."""
        if self.transport is Transport.ENGINE:
            engine_log.sent(self.logs, method, url, auth)
        elif target is not None:  # DataTransferService.log's wording (B-32)
            self._say(f"BITSHelper, remote name = {url.split('?')[0]}, local name = {self.windows_path(target)}")

    def _downloaded(self, url: str, target: Path) -> None:
        if self.transport is Transport.ENGINE:
            engine_log.downloaded(self.logs, url, self.windows_path(target))

    def _check(self, response: httpx.Response, url: str) -> None:
        """An HTTP error status is BITS's BG_E_HTTP_ERROR_<status> (0x80190191 for 401, B-49)."""
        if response.status_code < 400:
            return
        response.read()
        where, said, status = url.split("?")[0], response.text.strip()[:200], response.status_code
        code = http_error(status)
        if self.transport is Transport.ENGINE:
            engine_log.http_failed(self.logs, status, reason_phrase(status), code,
                                   file=CONTENT in response.request.extensions)
        raise DownloadError(code, f"WinHttpQueryHeaders() returns status code {status} ({reason_phrase(status)}) for "
                                  f"{where} ({hresult_text(code)}): {said}", status)

    def _transport_error(self, what: str, url: str, error: httpx.HTTPError) -> DownloadError:
        where = url.split("?")[0]
        if certificate_name_invalid(error):
            # The lines DataTransferService.log shows for this failure (B-56).
            self.logs.write("DataTransferService.log", "[CCMHTTP] AsyncCallback(): "
                            "WINHTTP_CALLBACK_STATUS_SECURE_FAILURE Encountered", severity=Severity.ERROR)
            self.logs.write("DataTransferService.log", "[CCMHTTP]            : "
                            "WINHTTP_CALLBACK_STATUS_FLAG_CERT_CN_INVALID is set", severity=Severity.ERROR)
            return DownloadError(HResult.SECURE_FAILURE, f"{what} {where} failed: the server certificate does not "
                                                         f"match the name ({error})")
        code = transport_hresult(error)
        return DownloadError(code, f"{what} {where} failed ({hresult_text(code)}): {error}")

    def _say(self, message: str, severity: Severity = Severity.INFO) -> None:
        self.logs.write(self.transport.log, message, component=self.transport.component, severity=severity)


def _range_start(response: httpx.Response) -> int | None:
    """The first byte a 206 answer carries, from its Content-Range; None for any other answer."""
    found = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", ""))
    if response.status_code != HTTPStatus.PARTIAL_CONTENT or found is None:
        return None
    return int(found.group(1))


__all__ = ["CLOUD", "INTERNET", "ContentDownloader", "DownloadError", "Downloaded", "RemoteFile", "RetryPolicy",
           "TokenRejected", "Transport", "intranet_only", "source_name", "try_order"]

"""The distribution point's HTTP answers, for each DP the site process serves (the Host header
says which):

    GET      /SMS_DP_SMSPKG$/<package>/<file>          a file of the package; one `Range: bytes=…` gives 206
    GET      /SMS_DP_SMSPKG$/<package>[/<folder>][/]   the folder's page (listing.py), with or without the slash
    GET      /SMS_DP_SMSPKG$/Datalib                   the content library: a <dir> per package on this DP
    PROPFIND /SMS_DP_SMSPKG$/<package>[/<path>]        WebDAV listing (207) with Depth 0 or 1
    GET      /SMS_DP_SMSSIG$/<PackageID>.<version>.tar the package's signatures

`NOCERT_SMS_DP_SMSPKG$` serves the same (the cert-less fallback); `CCMTOKENAUTH_SMS_DP_SMSPKG$` and
`CCMTOKENAUTH_SMS_DP_SMSSIG$` first want `Authorization: Bearer <CCM token>`. On a DP in HTTPS mode (site config
`https_dps`) `SMS_DP_SMSPKG$` and `SMS_DP_SMSSIG$` first want a client certificate: 403.7 without one
(docs/distribution-point.md). A package is named by its ID or by its content-library folder `<ID>.<version>`.
Vdirs, package IDs and paths match in any case, as on IIS. Content comes from the model, never from a file system,
so `..` or `\\` in a path just names no file (404).
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import partial
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from harness.emulators.site.config import DistributedPackage
from harness.emulators.site.listing import Entry, listing_page
from harness.emulators.site.models import SiteModel
from harness.model.content import corrupted, iter_content
from harness.protocol.paths import DP_PACKAGE_VDIR, DP_SIGNATURE_VDIR, PEER_VDIR
from harness.protocol.tokens import TokenError, verify_token
from harness.service.configs import SiteServiceConfig
from harness.service.content_marks import mark
from harness.service.control import JOURNAL_NOTE, HttpError, error_response
from harness.service.tls_peers import client_common_name

TOKEN_AUTH = "CCMTOKENAUTH_"
PACKAGE_VDIRS = (DP_PACKAGE_VDIR, f"NOCERT_{DP_PACKAGE_VDIR}", f"{TOKEN_AUTH}{DP_PACKAGE_VDIR}")
SIGNATURE_VDIRS = (DP_SIGNATURE_VDIR, f"{TOKEN_AUTH}{DP_SIGNATURE_VDIR}")
# What an HTTPS DP's IIS wants a client certificate for. [INFERENCE] the signature vdir too: the docs exempt only
# the cert-less and token vdirs by their names.
CERTIFICATE_VDIRS = (DP_PACKAGE_VDIR, DP_SIGNATURE_VDIR)
DATALIB = "Datalib"
OCTETS = "application/octet-stream"
DAV_XML = "text/xml; charset=utf-8"
_HREF_SAFE = "/$"  # IIS writes the vdirs' "$" as it is


class VdirRoute(Route):
    """A route whose path matches in any case: IIS serves `/sms_dp_smspkg$/…` (SCCMSecrets' spelling) as well as
    `/SMS_DP_SMSPKG$/…`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], *, methods: list[str]) -> None:
        super().__init__(path, endpoint, methods=methods)
        self.path_regex = re.compile(self.path_regex.pattern, re.IGNORECASE)


# -- a package's folders, from its file list --------------------------------------------------------


def folders(files: Mapping[str, int]) -> set[str]:
    """Every folder that holds a file; "" is the package folder itself."""
    return {"/".join(parts[:depth]) for parts in (name.split("/") for name in files) for depth in range(len(parts))}


def find(files: Mapping[str, int], path: str) -> tuple[str, bool] | None:
    """What `path` names, spelt as the package spells it, and whether it is a folder; None for nothing.

    Any case matches; "" and a trailing "/" name only folders."""
    wanted, folder_only = path.lower().removesuffix("/"), path == "" or path.endswith("/")
    if not folder_only:
        file = next((name for name in files if name.lower() == wanted), None)
        if file is not None:
            return file, False
    folder = next((name for name in folders(files) if name.lower() == wanted), None)
    return None if folder is None else (folder, True)


def children(files: Mapping[str, int], folder: str) -> list[tuple[str, int | None]]:
    """What `folder` holds, by name: its subfolders (size None) and its files."""
    prefix = f"{folder}/" if folder else ""
    below = [name.removeprefix(prefix) for name in files if name.startswith(prefix)]
    subfolders = {rest.split("/", 1)[0] for rest in below if "/" in rest}
    found: list[tuple[str, int | None]] = [(name, None) for name in subfolders]
    found += [(rest, files[prefix + rest]) for rest in below if "/" not in rest]
    return sorted(found, key=lambda entry: entry[0].lower())


def files_below(files: Mapping[str, int], folder: str) -> list[str]:
    prefix = f"{folder}/" if folder else ""
    return sorted(name for name in files if name.startswith(prefix))


# -- what goes on the wire ------------------------------------------------------------------------------


def multistatus(entries: Sequence[Entry]) -> str:
    """A WebDAV PROPFIND answer: each entry's resource type, length and last modification."""
    return ('<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:">'
            + "".join(_dav_response(entry) for entry in entries) + "</D:multistatus>")


def _dav_response(entry: Entry) -> str:
    kind = "<D:collection/>" if entry.size is None else ""
    return (f"<D:response><D:href>{escape(entry.href)}</D:href><D:propstat><D:prop>"
            f"<D:resourcetype>{kind}</D:resourcetype><D:getcontentlength>{entry.size or 0}</D:getcontentlength>"
            f"<D:getlastmodified>{http_date(entry.modified)}</D:getlastmodified>"
            "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>")


def propfind_depth(header: str | None) -> int:
    """0 or 1; absent means 1. IIS refuses `infinity` unless allowInfinitePropfindDepth is set, which it is not
    by default."""
    value = "1" if header is None else header.strip().lower()
    if value == "infinity":
        raise HttpError(403, "PROPFIND with Depth: infinity is refused (IIS allowInfinitePropfindDepth is off); "
                             "list one folder at a time with Depth: 1")
    if value not in ("0", "1"):
        raise HttpError(400, f"PROPFIND Depth must be 0, 1 or infinity, got {header!r}")
    return int(value)


_BYTES_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.IGNORECASE)


class RangeNotSatisfiable(Exception):
    """No byte of the file is in the range asked for: 416, with the file's size in Content-Range."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte positions one `Range: bytes=…` asks for; None to send the whole file.

    As IIS does for static files (RFC 9110, section 14): `first-last`, `first-` and the suffix `-length`, a last
    position past the end cut to it; RangeNotSatisfiable when no byte of the file is in the range. A header
    that is not one well-formed bytes range is ignored and the whole file sent, as the RFC allows;
    [INFERENCE] several ranges (multipart/byteranges) are ignored the same way: no client here asks for them.
    """
    found = _BYTES_RANGE.fullmatch(header.strip()) if header else None
    if found is None or found.group(1) + found.group(2) == "":
        return None
    first_text, last_text = found.groups()
    if not first_text:  # the last N bytes
        if int(last_text) == 0 or size == 0:
            raise RangeNotSatisfiable()
        return max(size - int(last_text), 0), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None
    if first >= size:
        raise RangeNotSatisfiable()
    return first, min(int(last_text), size - 1) if last_text else size - 1


def byte_slice(chunks: Iterator[bytes], first: int, last: int) -> Iterator[bytes]:
    """Bytes `first` to `last` (inclusive) of the content `chunks` make up."""
    position = 0
    for chunk in chunks:
        start, end = max(first - position, 0), min(last + 1 - position, len(chunk))
        if start < end:
            yield chunk[start:end]
        position += len(chunk)
        if position > last:
            return


def unsatisfiable(request: Request, size: int) -> Response:
    response = error_response(416, f"no byte of {request.url.path} ({size} bytes) is in "
                                   f"Range: {request.headers.get('range')}")
    response.headers["Content-Range"] = f"bytes */{size}"
    return response


def signature_tar(record: DistributedPackage) -> bytes:
    """[INFERENCE] A real signature .tar holds the content's signature files, whose format is undocumented; this
    one is a deterministic tar with one member, <PackageID>.<version>, listing each file, its size and the
    content's SHA-256."""
    listing = "".join(f"{name}\t{size}\n" for name, size in sorted(record.files.items()))
    data = f"{listing}SHA256\t{record.sha256}\n".encode()
    member = tarfile.TarInfo(record.library_name)  # mtime, owner and mode stay at their fixed defaults
    member.size = len(data)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(member, io.BytesIO(data))
    return out.getvalue()


def http_date(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC), usegmt=True)


def href(path: str) -> str:
    return quote(path, safe=_HREF_SAFE)


# -- HTTP -----------------------------------------------------------------------------------------------


class DistributionPoint:
    """Thin HTTP layer over the site model's packages, for every vdir. `https` names the DPs in
    HTTPS mode (`https_distribution_points`)."""

    def __init__(self, model: SiteModel, https: frozenset[str] = frozenset()) -> None:
        self.model = model
        self.https = https

    def routes(self) -> list[Route]:
        content: list[Route] = []
        for vdir in PACKAGE_VDIRS:
            handler = partial(self.content, vdir)
            content += [VdirRoute(f"/{vdir}/{{name}}", handler, methods=["GET", "PROPFIND"]),
                        VdirRoute(f"/{vdir}/{{name}}/{{path:path}}", handler, methods=["GET", "PROPFIND"])]
        signatures = [VdirRoute(f"/{vdir}/{{name}}", partial(self.signature, vdir), methods=["GET"])
                      for vdir in SIGNATURE_VDIRS]
        peers = [VdirRoute(f"/{PEER_VDIR}/{{name}}", self.peer_content, methods=["GET", "PROPFIND"]),
                 VdirRoute(f"/{PEER_VDIR}/{{name}}/{{path:path}}", self.peer_content, methods=["GET", "PROPFIND"])]
        return [*content, *signatures, *peers]

    async def peer_content(self, request: Request) -> Response:
        """A peer cache source's SuperPeer share (site/peers.py): the packages its cache holds, listed and served
        as a DP serves its own. Any other host, or a package the peer does not hold, is 404."""
        host = request.url.hostname or ""
        source = self.model.peers.for_host(host)
        name, path = request.path_params["name"], request.path_params.get("path")
        if source is None or name.upper() not in source.packages:
            raise HttpError(404, f"{host} shares no package {name} from its peer cache")
        return self._serve(request, self.model.package(name.upper()), f"/{PEER_VDIR}/{name}", path)

    async def content(self, vdir: str, request: Request) -> Response:
        self._authorize(vdir, request)
        name, path = request.path_params["name"], request.path_params.get("path")
        root = f"/{vdir}/{name}"
        if name.lower() == DATALIB.lower():
            if not path:
                return self._datalib(vdir, request)
            # Datalib's entries lead to the packages' folders ([INFERENCE]: the real <ID>.<version> folders
            # hold per-file .INI stubs, which the emulator does not keep).
            name, slash, rest = path.partition("/")
            root, path = f"/{vdir}/{DATALIB}/{name}", rest if slash else None
        return self._serve(request, self._package(name, request), root, path)

    def _serve(self, request: Request, record: DistributedPackage, root: str, path: str | None) -> Response:
        """`root` is the package folder's URL path; `path` what follows it, None when the URL stops at the name.

        A folder is listed whether its URL ends in "/" or not: the DP's handler answers `/SMS_DP_SMSPKG$/<package>`
        itself (the looter's screenshot), where IIS directory browsing would redirect to the slash."""
        if path is None:
            if request.method == "PROPFIND":
                return self._propfind(request, record, root, root, "", folder=True)
            return self._listing(request, record, root, "")
        found = find(record.files, path)
        if found is None:
            raise HttpError(404, f"package {record.package.package_id} has no file {path!r}")
        target, folder = found
        here = f"{root}/{path}"
        if request.method == "PROPFIND":
            return self._propfind(request, record, root, here, target, folder=folder)
        if not folder:
            return self._file(request, record, target)
        return self._listing(request, record, root, target)

    def _file(self, request: Request, record: DistributedPackage, name: str) -> Response:
        # One file per package (task_sequence.PackageType.content_file): the package's bytes are the file's.
        pkg, size = record.package, record.files[name]
        chunks = iter_content(pkg.package_id, pkg.version, size)
        peer = self.model.peers.is_peer_host(request.url.hostname or "")  # a peer's copy is its own
        if not peer and self._dp(request) in record.damaged:
            chunks = corrupted(chunks)
        headers = {"Accept-Ranges": "bytes", "Last-Modified": http_date(record.updated)}
        try:
            wanted = byte_range(request.headers.get("range"), size)
        except RangeNotSatisfiable:
            return unsatisfiable(request, size)
        if wanted is None:
            return mark(StreamingResponse(chunks, media_type=OCTETS, headers={**headers, "Content-Length": str(size)}),
                        size)
        first, last = wanted
        # Resuming clients (BITS, the task sequence engine) ask for the rest of a file they were cut off from.
        setattr(request.state, JOURNAL_NOTE, f"range bytes={first}-{last} of {size}")
        return mark(StreamingResponse(byte_slice(chunks, first, last), status_code=206, media_type=OCTETS,
                                      headers={**headers, "Content-Length": str(last - first + 1),
                                               "Content-Range": f"bytes {first}-{last}/{size}"}), last - first + 1)

    def _listing(self, request: Request, record: DistributedPackage, root: str, folder: str) -> Response:
        here = f"{root}/{folder}" if folder else root
        # [INFERENCE] Folders link without a trailing slash, as the package itself is asked for.
        urls = [(_origin(request) + href(f"{here}/{name}"), size) for name, size in children(record.files, folder)]
        return HTMLResponse(listing_page([Entry(url, url, size, record.updated) for url, size in urls]))

    def _propfind(self, request: Request, record: DistributedPackage, root: str, here: str, target: str, *,
                  folder: bool) -> Response:
        depth = propfind_depth(request.headers.get("depth"))
        top = Entry(target.rsplit("/", 1)[-1], href(here), None if folder else record.files[target], record.updated)
        if not folder or depth == 0:
            return _dav(top)
        # [INFERENCE] Depth 1 lists every file below the folder, not its subfolders: the harness client takes
        # each href below the package as a file to GET (one PROPFIND per package); real IIS would list the
        # subfolders and leave their files to a PROPFIND of each.
        files = [Entry(name.rsplit("/", 1)[-1], href(f"{root}/{name}"), record.files[name], record.updated)
                 for name in files_below(record.files, target)]
        return _dav(top, *files)

    def _datalib(self, vdir: str, request: Request) -> Response:
        records = self.model.dp_packages(self._dp(request))
        here = f"/{vdir}/{DATALIB}"
        modified = max((r.updated for r in records), default=self.model.clock.now())
        if request.method == "PROPFIND":
            depth = propfind_depth(request.headers.get("depth"))
            members = [Entry(r.library_name, href(f"{here}/{r.library_name}/"), None, r.updated) for r in records]
            return _dav(Entry(DATALIB, href(here), None, modified), *(members if depth else []))
        # No trailing slash on these links: tools take the last part of each as a package (docs/distribution-point.md).
        # The link says `Datalib\<ID>.<version>`, as on the looter's screenshot; [INFERENCE] the href has "/",
        # since the looter's signature method takes its last "/" part for <ID>.<version>.
        links = [(_origin(request) + href(f"{here}/{r.library_name}"), r.updated) for r in records]
        return HTMLResponse(listing_page([Entry(_backslashed(url), url, None, when) for url, when in links]))

    async def signature(self, vdir: str, request: Request) -> Response:
        self._authorize(vdir, request)
        name = request.path_params["name"]
        library_name = name[:-4] if name.lower().endswith(".tar") else ""
        if "." not in library_name:
            raise HttpError(404, f"no signature {name!r} on {vdir}: signatures are <PackageID>.<version>.tar")
        return Response(signature_tar(self._package(library_name, request)), media_type=OCTETS)

    def _authorize(self, vdir: str, request: Request) -> None:
        """An HTTPS DP's certificate vdirs want a client certificate; the token vdirs want the CCM token
        (B-44), checked as the management point checks it."""
        if vdir in CERTIFICATE_VDIRS:
            self._require_certificate(vdir, request)
        if not vdir.startswith(TOKEN_AUTH):
            return
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            raise HttpError(401, f"a ccm token is required (Authorization: Bearer …) on {vdir}")
        try:
            verify_token(header.removeprefix("Bearer "), self.model.config.key, kind="ccm",
                         now=self.model.clock.now())
        except TokenError as error:
            raise HttpError(401, f"ccm token rejected on {vdir}: {error.reason}") from None

    def _require_certificate(self, vdir: str, request: Request) -> None:
        """IIS's SSL settings refuse before the DP's handler runs: 403.7 whatever the path names (a package it
        does not hold included), never the 404 that SCCMSecrets' probe reads as anonymous access."""
        dp = self._dp(request)
        if dp not in self.https or client_common_name(request.scope) is not None:
            return
        fqdn = self.model.config.distribution_points[dp]
        others = " or ".join([f"NOCERT_{vdir}"] * (vdir == DP_PACKAGE_VDIR) + [f"{TOKEN_AUTH}{vdir}"])
        raise HttpError(403, f"403.7 - Forbidden: client certificate required: {vdir} on {fqdn} is an HTTPS "
                             f"distribution point; present a PKI client authentication certificate, or use {others}")

    def _dp(self, request: Request) -> str:
        """Which of the DPs this process serves was asked, by the name in the Host header."""
        return self.model.config.dp_for_host(request.url.hostname or "") or self.model.config.dp_name

    def _package(self, name: str, request: Request) -> DistributedPackage:
        return self.model.dp_package(name, self._dp(request))


def https_distribution_points(config: SiteServiceConfig, known: Iterable[str]) -> frozenset[str]:
    """The DPs the site configuration puts in HTTPS mode (`"https_dps": ["dp", …]`), of those `known`.

    Refused when the process serves TLS without asking for client certificates (`tls.client_certificates`,
    which `serve` reads): those DPs would refuse every client."""
    names, known = config.https_dps, sorted(known)
    for name in names:
        if name not in known:
            raise ValueError(f"https_dps names {name!r}: not an on-premises distribution point of this site "
                             f"({', '.join(known)})")
    tls = config.tls
    if names and tls is not None and tls.cert and not tls.client_certificates:
        raise ValueError("https_dps needs tls.client_certificates: a TLS server that does not ask for one never "
                         "sees a client certificate, so its HTTPS distribution points would refuse every client")
    return frozenset(names)


def _backslashed(url: str) -> str:
    head, _, last = url.rpartition("/")
    return f"{head}\\{last}"


def _dav(*entries: Entry) -> Response:
    return Response(multistatus(entries), status_code=207, media_type=DAV_XML)


def _origin(request: Request) -> str:
    """[INFERENCE] Listing links keep the scheme the page was asked with: no evidence shows a real DP over TLS."""
    return f"{request.url.scheme}://{request.url.netloc}"

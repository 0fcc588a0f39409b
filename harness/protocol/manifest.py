"""[INFERENCE] What a CMG or cloud DP answers to ``getcontentxmlsecure``: the package's files and where each
lies in Azure storage. The real manifest is undocumented (B-46 only says the client "receives the
exact Azure-storage location"); this shape carries what a client needs to download and verify:

``<ContentManifest PackageID="…" Version="1" HashAlgorithm="SHA256" Hash="HEX">
<File Name="…" Size="…" URL="https://acct.blob.core.example:port/container/blob?sas"/>…</ContentManifest>``
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from harness.protocol.errors import ProtocolError, attr, expect_root, parse_xml, serialize, sub, to_int

ROOT = "ContentManifest"
HASH_ALGORITHM = "SHA256"


@dataclass(frozen=True)
class ManifestFile:
    name: str
    size: int  # bytes
    url: str  # blob URL with its SAS query


@dataclass(frozen=True)
class ContentManifest:
    package_id: str
    version: int
    hash_sha256: str  # hex, of the package content as a whole
    files: tuple[ManifestFile, ...]


def build_manifest(manifest: ContentManifest) -> str:
    root = Element(ROOT, PackageID=manifest.package_id, Version=str(manifest.version),
                   HashAlgorithm=HASH_ALGORITHM, Hash=manifest.hash_sha256)
    for file in manifest.files:
        sub(root, "File", Name=file.name, Size=str(file.size), URL=file.url)
    return serialize(root)


def parse_manifest(xml: str) -> ContentManifest:
    root = parse_xml(xml, ROOT)
    expect_root(root, ROOT)
    algorithm = attr(root, "HashAlgorithm", ROOT)
    if algorithm.upper() != HASH_ALGORITHM:
        raise ProtocolError(f"{ROOT}: HashAlgorithm {algorithm!r} is not {HASH_ALGORITHM}")
    return ContentManifest(
        package_id=attr(root, "PackageID", ROOT),
        version=to_int(attr(root, "Version", ROOT), ROOT, "<ContentManifest Version>"),
        hash_sha256=attr(root, "Hash", ROOT),
        files=tuple(_file(element) for element in root.findall("File")),
    )


def _file(element: Element) -> ManifestFile:
    return ManifestFile(
        name=attr(element, "Name", ROOT),
        size=to_int(attr(element, "Size", ROOT), ROOT, "<File Size>", minimum=0),
        url=attr(element, "URL", ROOT),
    )


__all__ = ["ContentManifest", "ManifestFile", "build_manifest", "parse_manifest"]

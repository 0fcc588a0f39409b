"""Content download against canned sources (respx): manifest, hash check, fallback, hostile names."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from harness.client.download import ContentDownloader, DownloadError
from harness.client.logs import ClientLogs
from harness.client.timeline import Timeline
from harness.model.errors import HResult
from harness.model.units import Scale
from harness.protocol.location import ContentLocationReply, LocationRecord
from harness.protocol.manifest import ContentManifest, ManifestFile, build_manifest

DATA = b"install.esd bytes " * 100
BLOB = "https://contosocmgcontent.blob.core.example:4445/content/PS100011/install.esd?sig=x"


def cloud(host: str) -> LocationRecord:
    return LocationRecord(url=f"https://{host}/downloadrestservice.svc/getcontentxmlsecure?pid=PS100011",
                          server_remote_name=host.upper(), locality="INTERNET", dp_type="CLOUD")


def reply(*records: LocationRecord, digest: bytes = DATA) -> ContentLocationReply:
    return ContentLocationReply(site_code="PS1", site_locality="LOCAL", records=records, access_token="content-token",
                                hash_sha256=hashlib.sha256(digest).hexdigest().upper())


def manifest(*names: str) -> str:
    return build_manifest(ContentManifest("PS100011", 1, hashlib.sha256(DATA).hexdigest().upper(),
                                          tuple(ManifestFile(n, len(DATA), BLOB) for n in names)))


def downloader(http: httpx.Client) -> tuple[ContentDownloader, Timeline]:
    timeline = Timeline(Scale(1000))
    return ContentDownloader(http, timeline, ClientLogs(lambda: datetime.now(UTC)), Scale(1000)), timeline


@respx.mock(assert_all_called=True)
def test_cloud_content_comes_from_storage_with_the_token(respx_mock: respx.MockRouter, tmp_path: Path) -> None:
    service = respx_mock.get(url__startswith="https://cmg.contoso.example/").mock(
        return_value=httpx.Response(200, text=manifest("sources/install.esd")))
    respx_mock.get(BLOB).mock(return_value=httpx.Response(200, content=DATA))
    with httpx.Client() as http:
        fetch, timeline = downloader(http)
        done = fetch.fetch("PS100011", 1, reply(cloud("cmg.contoso.example")), tmp_path / "PS100011")
    assert (tmp_path / "PS100011" / "sources" / "install.esd").read_bytes() == DATA
    assert done.source == "cmg.contoso.example" and done.bytes == len(DATA)
    assert service.calls.last.request.headers["authorization"] == "Bearer content-token"
    assert [e["event"] for e in timeline.events()] == ["download.start", "download.end"]
    assert timeline.events()[-1]["model_bytes"] == len(DATA) * 1000


@respx.mock
def test_hash_mismatch_fails_and_leaves_nothing_behind(respx_mock: respx.MockRouter, tmp_path: Path) -> None:
    respx_mock.get(url__startswith="https://cmg.contoso.example/").mock(
        return_value=httpx.Response(200, text=manifest("install.esd")))
    respx_mock.get(BLOB).mock(return_value=httpx.Response(200, content=DATA[:-1] + b"!"))
    with httpx.Client() as http, pytest.raises(DownloadError) as caught:
        downloader(http)[0].fetch("PS100011", 1, reply(cloud("cmg.contoso.example")), tmp_path / "PS100011")
    assert caught.value.hresult is HResult.HASH_MISMATCH
    assert not (tmp_path / "PS100011").exists()


@respx.mock
def test_a_failing_source_falls_back_to_the_next_location(respx_mock: respx.MockRouter, tmp_path: Path) -> None:
    respx_mock.get(url__startswith="https://cmg.contoso.example/").mock(return_value=httpx.Response(503))
    respx_mock.get(url__startswith="https://clouddp.contoso.example/").mock(
        return_value=httpx.Response(200, text=manifest("install.esd")))
    respx_mock.get(BLOB).mock(return_value=httpx.Response(200, content=DATA))
    with httpx.Client() as http:
        fetch, timeline = downloader(http)
        done = fetch.fetch("PS100011", 1, reply(cloud("cmg.contoso.example"), cloud("clouddp.contoso.example")),
                           tmp_path / "PS100011")
    assert done.source == "clouddp.contoso.example"
    ends = [(e["source"], e["result"]) for e in timeline.events() if e["event"] == "download.end"]
    assert ends == [("cmg.contoso.example", "failed"), ("clouddp.contoso.example", "succeeded")]


@respx.mock
def test_a_malformed_manifest_is_the_documented_manifest_error(respx_mock: respx.MockRouter, tmp_path: Path) -> None:
    respx_mock.get(url__startswith="https://cmg.contoso.example/").mock(
        return_value=httpx.Response(200, text="<ContentManifest"))
    with httpx.Client() as http, pytest.raises(DownloadError, match="0x87d0027e") as caught:
        downloader(http)[0].fetch("PS100011", 1, reply(cloud("cmg.contoso.example")), tmp_path / "PS100011")
    assert caught.value.hresult is HResult.MANIFEST_ERROR


@respx.mock
def test_a_manifest_file_name_outside_the_package_folder_is_refused(respx_mock: respx.MockRouter,
                                                                    tmp_path: Path) -> None:
    respx_mock.get(url__startswith="https://cmg.contoso.example/").mock(
        return_value=httpx.Response(200, text=manifest("../../escaped.txt")))
    with httpx.Client() as http, pytest.raises(DownloadError, match="outside the package folder"):
        downloader(http)[0].fetch("PS100011", 1, reply(cloud("cmg.contoso.example")), tmp_path / "pkg" / "PS100011")
    assert not (tmp_path / "escaped.txt").exists()

"""Which sources the client tries and how (respx): the order and its seeded draw, retries and fallback, resuming a
cut file with a Range request, and the codes a failed download ends with (B-20, B-31, B-33, B-34, B-49)."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from harness.client.content import source_chooser
from harness.client.download import ContentDownloader, DownloadError, RetryPolicy, Transport, try_order
from harness.client.logs import ClientLogs
from harness.client.timeline import Timeline
from harness.model.errors import HResult, hresult_text, http_error
from harness.model.units import Scale
from harness.protocol.location import ContentLocationReply, LocationRecord
from harness.protocol.manifest import ContentManifest, ManifestFile, build_manifest

PID = "PS100011"
DATA = bytes(range(256)) * 40
DP = "https://cm01.corp.contoso.example"
DP2 = "https://dp02.corp.contoso.example"
FILE = f"{DP}/SMS_DP_SMSPKG$/{PID}/install.esd"
BLOB = f"https://contosocmgcontent.blob.core.example/content/{PID}/install.esd?sig=x"


def cloud(host: str) -> LocationRecord:
    return LocationRecord(url=f"https://{host}/downloadrestservice.svc/getcontentxmlsecure?pid={PID}",
                          server_remote_name=host.upper(), locality="INTERNET", dp_type="CLOUD")


def dp(base: str = DP, locality: str = "LOCAL") -> LocationRecord:
    return LocationRecord(url=f"{base}/SMS_DP_SMSPKG$/{PID}", server_remote_name=base.removeprefix("https://").upper(),
                          locality=locality, dp_type="SERVER")


def reply(*records: LocationRecord) -> ContentLocationReply:
    return ContentLocationReply(site_code="PS1", site_locality="LOCAL", records=records, access_token="token",
                                hash_sha256=hashlib.sha256(DATA).hexdigest().upper())


def listing(base: str = DP) -> httpx.Response:
    path = f"/SMS_DP_SMSPKG$/{PID}"
    hrefs = "".join(f"<D:response><D:href>{h}</D:href></D:response>" for h in (path, f"{path}/install.esd"))
    return httpx.Response(207, text=f'<?xml version="1.0"?><D:multistatus xmlns:D="DAV:">{hrefs}</D:multistatus>')


def manifest() -> httpx.Response:
    files = (ManifestFile("install.esd", len(DATA), BLOB),)
    return httpx.Response(200, text=build_manifest(ContentManifest(PID, 1, hashlib.sha256(DATA).hexdigest(), files)))


class Downloads:
    """A downloader with its timeline, logs and the sleeps it asked for."""

    def __init__(self, http: httpx.Client, transport: Transport = Transport.ENGINE) -> None:
        self.timeline = Timeline(Scale(1000))
        self.logs = ClientLogs(lambda: datetime.now(UTC))
        self.slept: list[float] = []
        self.downloader = ContentDownloader(http, self.timeline, self.logs, Scale(1000), transport)

    def fetch(self, destination: Path, *records: LocationRecord, retries: int = 0, delay: float = 15.0) -> Path:
        policy = RetryPolicy(count=retries, delay=delay, sleep=self.slept.append)
        return self.downloader.fetch(PID, 1, reply(*records), destination, policy).path

    def events(self, *kinds: str) -> list[dict[str, Any]]:
        return [e for e in self.timeline.events() if e["event"] in kinds]

    def attempts(self) -> list[tuple[str, str]]:
        return [(e["source"], e["result"]) for e in self.events("download.end")]


# -- the order ---------------------------------------------------------------------------------------------


def test_on_premises_records_keep_their_order_before_the_cloud_sources() -> None:
    records = (dp(), dp(DP2, "NEIGHBOR"), cloud("cmg.contoso.example"), cloud("cdp.cloudapp.example"))
    for seed in range(20):
        ordered = try_order(records, on_internet=False, chooser=random.Random(seed))
        assert ordered[:2] == records[:2]
        assert set(ordered[2:]) == set(records[2:])


def test_cloud_sources_a_boundary_group_prefers_stay_first() -> None:
    records = (cloud("cmg.contoso.example"), cloud("cdp.cloudapp.example"), dp())
    for seed in range(20):
        ordered = try_order(records, on_internet=False, chooser=random.Random(seed))
        assert ordered[2] == records[2] and {r.dp_type for r in ordered[:2]} == {"CLOUD"}


def test_an_internet_client_drops_intranet_records_but_not_internet_facing_ones() -> None:
    internet_dp = dp("https://ibcm.contoso.example", "INTERNET")
    records = (dp(), dp(DP2, "NEIGHBOR"), internet_dp, cloud("cmg.contoso.example"))
    assert try_order(records, on_internet=True, chooser=random.Random(0)) == (internet_dp, records[3])


def test_the_draw_repeats_for_the_same_client_deployment_and_seed() -> None:
    records = tuple(cloud(f"cdp{i}.cloudapp.example") for i in range(5))

    def order(client: str, seed: int) -> tuple[LocationRecord, ...]:
        return try_order(records, on_internet=True, chooser=source_chooser(client, "PS120001", seed))

    assert order("CLIENT01", 7) == order("CLIENT01", 7)
    assert len({order("CLIENT01", seed) for seed in range(10)}) > 1
    assert len({order(f"CLIENT{n:02d}", 0) for n in range(10)}) > 1


def test_clients_spread_across_two_cloud_sources() -> None:
    records = (cloud("cmg.contoso.example"), cloud("cdp.cloudapp.example"))
    first = Counter(try_order(records, on_internet=True, chooser=source_chooser(f"CLIENT{n:03d}", "PS120001"))[0]
                    .server_remote_name for n in range(400))
    assert min(first.values()) >= 160, first  # 200 expected each; 160 is more than 4 standard deviations off


# -- retries and fallback -----------------------------------------------------------------------------------


@respx.mock
def test_a_source_is_tried_one_plus_retries_times_then_the_next(respx_mock: respx.MockRouter, tmp_path: Path) -> None:
    refused = respx_mock.get(url__startswith="https://cmg.contoso.example/").mock(return_value=httpx.Response(503))
    respx_mock.get(url__startswith="https://cdp.cloudapp.example/").mock(return_value=manifest())
    respx_mock.get(BLOB).mock(return_value=httpx.Response(200, content=DATA))
    with httpx.Client() as http:
        run = Downloads(http)
        run.fetch(tmp_path / PID, cloud("cmg.contoso.example"), cloud("cdp.cloudapp.example"), retries=2)
    assert refused.call_count == 3
    assert run.attempts() == [("cmg.contoso.example", "failed")] * 3 + [("cdp.cloudapp.example", "succeeded")]
    assert [(e["retry"], e["delay_s"]) for e in run.events("download.retry")] == [(1, 15.0), (2, 15.0)]
    assert run.slept == [15.0, 15.0]  # between the attempts on one source, not before the fallback
    (fallback,) = run.events("download.fallback")
    assert (fallback["source"], fallback["next"]) == ("cmg.contoso.example", "cdp.cloudapp.example")
    assert [e["attempt"] for e in run.events("download.start")] == [1, 2, 3, 1]
    assert run.downloader.last_location == "https://cdp.cloudapp.example/downloadrestservice.svc/getcontentxmlsecure"


@respx.mock
def test_when_every_source_fails_the_last_error_is_raised_and_nothing_is_left(respx_mock: respx.MockRouter,
                                                                             tmp_path: Path) -> None:
    respx_mock.route(method="PROPFIND", url__startswith=DP).mock(return_value=httpx.Response(404))
    respx_mock.get(url__startswith="https://cmg.contoso.example/").mock(return_value=httpx.Response(503))
    with httpx.Client() as http, pytest.raises(DownloadError) as caught:
        run = Downloads(http)
        run.fetch(tmp_path / PID, dp(), cloud("cmg.contoso.example"), retries=1, delay=30)
    assert caught.value.hresult == 0x801901F7 and caught.value.status == 503
    assert run.attempts() == [("cm01.corp.contoso.example", "failed")] * 2 + [("cmg.contoso.example", "failed")] * 2
    assert [e["hresult"] for e in run.events("download.end")] == ["0x80190194"] * 2 + ["0x801901F7"] * 2
    assert run.slept == [30, 30]
    assert not (tmp_path / PID).exists()


# -- resuming a cut file -------------------------------------------------------------------------------------


class CutStream(httpx.SyncByteStream):
    """A body that stops after `after` bytes the way a reset connection does."""

    def __init__(self, data: bytes, after: int, error: type[httpx.HTTPError]) -> None:
        self.data, self.after, self.error = data, after, error

    def __iter__(self) -> Iterator[bytes]:
        yield self.data[:self.after]
        raise self.error("peer closed connection without sending complete message body")


def cut(after: int, how: str) -> httpx.Response:
    headers = {"Content-Length": str(len(DATA))}
    if how == "short body":
        return httpx.Response(200, headers=headers, content=DATA[:after])
    error = httpx.RemoteProtocolError if how == "protocol error" else httpx.ReadError
    return httpx.Response(200, headers=headers, stream=CutStream(DATA, after, error))


def rest(first: int) -> httpx.Response:
    """What a DP that honours `Range: bytes=<first>-` answers."""
    return httpx.Response(206, content=DATA[first:], headers={"Content-Range": f"bytes {first}-{len(DATA) - 1}/"
                                                                               f"{len(DATA)}"})


@pytest.mark.parametrize("how", ["short body", "protocol error", "read error"])
@respx.mock
def test_a_cut_file_is_resumed_from_the_byte_it_stopped_at(respx_mock: respx.MockRouter, tmp_path: Path,
                                                           how: str) -> None:
    respx_mock.route(method="PROPFIND", url__startswith=DP).mock(return_value=listing())
    files = respx_mock.get(FILE).mock(side_effect=[cut(1000, how), rest(1000)])
    with httpx.Client() as http:
        run = Downloads(http)
        path = run.fetch(tmp_path / PID, dp(), retries=1)
    assert (path / "install.esd").read_bytes() == DATA
    assert "range" not in files.calls[0].request.headers
    assert files.calls[1].request.headers["range"] == "bytes=1000-"
    failed, succeeded = run.events("download.end")
    assert failed["hresult"] == "0x80072EFE" and succeeded["result"] == "succeeded"
    assert succeeded["bytes"] == len(DATA)
    (resume,) = run.events("download.resume")
    assert (resume["file"], resume["offset"], resume["source"]) == ("install.esd", 1000, "cm01.corp.contoso.example")
    assert "Resuming download of install.esd from " in run.logs.text("smsts.log")


@respx.mock
def test_a_server_that_ignores_the_range_is_downloaded_from_the_start(respx_mock: respx.MockRouter,
                                                                      tmp_path: Path) -> None:
    respx_mock.route(method="PROPFIND", url__startswith=DP).mock(return_value=listing())
    respx_mock.get(FILE).mock(side_effect=[cut(1000, "short body"), httpx.Response(200, content=DATA)])
    with httpx.Client() as http:
        run = Downloads(http)
        path = run.fetch(tmp_path / PID, dp(), retries=1)
    assert (path / "install.esd").read_bytes() == DATA
    assert "from the start" in run.logs.text("smsts.log")


@pytest.mark.parametrize("answer", [httpx.Response(416, headers={"Content-Range": f"bytes */{len(DATA)}"}),
                                    httpx.Response(206, content=DATA[5:], headers={"Content-Range": "bytes 5-10/99"})],
                         ids=["416", "wrong-range"])
@respx.mock
def test_a_resume_the_server_cannot_serve_starts_over_next_time(respx_mock: respx.MockRouter, tmp_path: Path,
                                                                answer: httpx.Response) -> None:
    respx_mock.route(method="PROPFIND", url__startswith=DP).mock(return_value=listing())
    files = respx_mock.get(FILE).mock(side_effect=[cut(1000, "short body"), answer, httpx.Response(200, content=DATA)])
    with httpx.Client() as http:
        path = Downloads(http).fetch(tmp_path / PID, dp(), retries=2)
    assert (path / "install.esd").read_bytes() == DATA
    assert [c.request.headers.get("range") for c in files.calls] == [None, "bytes=1000-", None]


@respx.mock
def test_the_hash_covers_the_resumed_file_and_a_mismatch_starts_over(respx_mock: respx.MockRouter,
                                                                     tmp_path: Path) -> None:
    respx_mock.route(method="PROPFIND", url__startswith=DP).mock(return_value=listing())
    bad_rest = httpx.Response(206, content=b"!" * (len(DATA) - 1000),
                              headers={"Content-Range": f"bytes 1000-{len(DATA) - 1}/{len(DATA)}"})
    whole = httpx.Response(200, content=DATA)
    files = respx_mock.get(FILE).mock(side_effect=[cut(1000, "short body"), bad_rest, whole])
    with httpx.Client() as http:
        run = Downloads(http)
        run.fetch(tmp_path / PID, dp(), retries=2)
    assert [e["hresult"] for e in run.events("download.end") if e["result"] == "failed"] == ["0x80072EFE",
                                                                                          "0x80091007"]
    assert [c.request.headers.get("range") for c in files.calls] == [None, "bytes=1000-", None]


@respx.mock
def test_a_new_source_starts_the_file_over(respx_mock: respx.MockRouter, tmp_path: Path) -> None:
    respx_mock.route(method="PROPFIND", url__startswith=DP).mock(return_value=listing())
    respx_mock.route(method="PROPFIND", url__startswith=DP2).mock(return_value=listing(DP2))
    respx_mock.get(FILE).mock(return_value=cut(1000, "short body"))
    other = respx_mock.get(url__startswith=DP2).mock(return_value=httpx.Response(200, content=DATA))
    with httpx.Client() as http:
        Downloads(http).fetch(tmp_path / PID, dp(), dp(DP2))
    assert "range" not in other.calls.last.request.headers


# -- error codes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "code"), [(401, 0x80190191), (403, 0x80190193), (404, 0x80190194),
                                              (416, 0x801901A0), (500, 0x801901F4), (503, 0x801901F7)])
def test_an_http_error_status_is_bg_e_http_error(status: int, code: int) -> None:
    assert http_error(status) == code
    assert hresult_text(http_error(401)) == HResult.HTTP_401.hex


@pytest.mark.parametrize("status", [200, 206, 301, 600])
def test_only_error_statuses_have_an_http_error_code(status: int) -> None:
    with pytest.raises(ValueError, match="not an error status"):
        http_error(status)


@pytest.mark.parametrize(("method", "status", "code"), [
    ("PROPFIND", 401, "0x80190191"), ("PROPFIND", 404, "0x80190194"), ("GET", 503, "0x801901F7"),
    ("GET", 404, "0x80190194")])
@respx.mock
def test_the_engine_reports_an_http_error_as_its_bits_code(respx_mock: respx.MockRouter, tmp_path: Path,
                                                           method: str, status: int, code: str) -> None:
    respx_mock.route(method="PROPFIND", url__startswith=DP).mock(
        return_value=httpx.Response(status) if method == "PROPFIND" else listing())
    respx_mock.get(FILE).mock(return_value=httpx.Response(status))
    with httpx.Client() as http, pytest.raises(DownloadError) as caught:
        Downloads(http).fetch(tmp_path / PID, dp())
    assert hresult_text(caught.value.hresult) == code and caught.value.status == status


@pytest.mark.parametrize(("error", "code"), [
    (httpx.ConnectError("[Errno 111] Connection refused"), HResult.CANNOT_CONNECT),
    (httpx.ReadError("[Errno 104] Connection reset by peer"), HResult.CONNECTION_ERROR),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), HResult.CONNECTION_ERROR),
    (httpx.ReadTimeout("timed out"), HResult.WINHTTP_TIMEOUT),
    (httpx.ConnectTimeout("timed out"), HResult.WINHTTP_TIMEOUT),
    (httpx.ConnectError("name not resolved (0x80072EE7)"), HResult.NAME_NOT_RESOLVED),
], ids=["refused", "reset", "closed", "read-timeout", "connect-timeout", "not-resolved"])
@respx.mock
def test_a_request_without_a_complete_answer_gets_winhttps_code(respx_mock: respx.MockRouter, tmp_path: Path,
                                                                error: httpx.HTTPError, code: HResult) -> None:
    respx_mock.route(method="PROPFIND", url__startswith=DP).mock(side_effect=error)
    with httpx.Client() as http, pytest.raises(DownloadError) as caught:
        Downloads(http).fetch(tmp_path / PID, dp())
    assert caught.value.hresult == code and caught.value.status is None


@respx.mock
def test_dts_reports_a_refused_manifest_as_the_manifest_error(respx_mock: respx.MockRouter, tmp_path: Path) -> None:
    respx_mock.get(url__startswith="https://cmg.contoso.example/").mock(return_value=httpx.Response(400))
    with httpx.Client() as http, pytest.raises(DownloadError) as caught:
        run = Downloads(http, Transport.DTS)
        run.fetch(tmp_path / PID, cloud("cmg.contoso.example"))
    assert caught.value.hresult == HResult.MANIFEST_ERROR and caught.value.status == 400
    log = run.logs.text("DataTransferService.log")
    for line in ("/downloadrestservice.svc/getcontentxmlsecure?pid=PS100011 failed with 400",
                 "Error sending DAV request. HTTP code 400, status 'Bad Request'",
                 "') failed with code 0x87d0027e.", "Error retrieving manifest (0x87d0027e)."):
        assert line in log
    (end,) = run.events("download.end")
    assert (end["hresult"], end["http_status"]) == ("0x87D0027E", 400)


@respx.mock
def test_dts_reports_a_refused_file_as_its_bits_code(respx_mock: respx.MockRouter, tmp_path: Path) -> None:
    respx_mock.get(url__startswith="https://cmg.contoso.example/").mock(return_value=manifest())
    respx_mock.get(BLOB).mock(return_value=httpx.Response(503))
    with httpx.Client() as http, pytest.raises(DownloadError) as caught:
        Downloads(http, Transport.DTS).fetch(tmp_path / PID, cloud("cmg.contoso.example"))
    assert caught.value.hresult == 0x801901F7

"""The site's distribution point (spec §2.2, §6.3): files and byte ranges, folder pages, Datalib, WebDAV
PROPFIND, signatures and the token vdirs, as clients and DP tools see them; and a 4xx naming the problem for bad
input."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from harness.clock.model_clock import ModelClock
from harness.emulators.site.app import create_app as create_site
from harness.emulators.site.dp import byte_slice
from harness.model.content import content_bytes, corrupted
from harness.net.tls import TestPKI
from harness.protocol.location import ContentLocationRequest, build_location_request, parse_location_reply
from harness.protocol.messaging import CONTENT_TYPE, CcmMessage, decode_reply, encode_message
from tests.contract.raw import raw_get

MakeToken = Callable[..., str]
MP_FQDN = "cm01.corp.contoso.example"
BRANCH_FQDN = "dp02.branch.contoso.example"
DP = "/SMS_DP_SMSPKG$"
SIG = "/SMS_DP_SMSSIG$"
TOKEN_DP = "/CCMTOKENAUTH_SMS_DP_SMSPKG$"
TOKEN_SIG = "/CCMTOKENAUTH_SMS_DP_SMSSIG$"
OS, PLAIN, IDLE = "PS100011", "PS100012", "PS100013"
ORIGIN = "http://testserver"  # TestClient's host: not a DP name, so the site's own DP answers
D = "{DAV:}"
LINE = re.compile(r'(?P<date>[ \d]\d/[ \d]\d/\d{4}) (?P<time>[ \d]\d:\d\d [ap]m) (?P<size> {11}&lt;dir&gt| *\d+) '
                  r'<a href="(?P<href>[^"]+)">(?P<name>[^<]+)</a><br>')


def assert_refused(response: Any, status: int, *words: str) -> None:
    reason = f"{response.headers.get('x-harness-reason', '')} {response.text}"
    assert response.status_code == status, reason
    for word in words:
        assert word in reason


def stock(site: TestClient) -> TestClient:
    """OS upgrade package PS100011 (sources/install.esd) and PS100012 version 2 (content.bin) on the site's DP;
    PS100013 defined but on no DP."""
    for package_id, body in ((OS, {"name": "Windows 11", "size": "3 MB", "type": "OS upgrade package"}),
                             (PLAIN, {"name": "Tools", "size": "1 MB", "version": 2}),
                             (IDLE, {"name": "Idle", "size": "1 MB"})):
        assert site.put(f"/_harness/site/packages/{package_id}", json=body).status_code == 200
    for package_id in (OS, PLAIN):
        assert site.post(f"/_harness/site/packages/{package_id}/distribute", json={"to": ["dp"]}).status_code == 200
    return site


@pytest.fixture
def dp(site: TestClient) -> TestClient:
    return stock(site)


@pytest.fixture
def branch(pki: TestPKI, clock: ModelClock, key: bytes) -> Iterator[TestClient]:
    """A site that also serves the branch DP dp2, by its own name."""
    config = {"tls": {"ca": str(pki.ca_cert_path)}, "clock": clock.to_json(), "key": key.hex(), "site_code": "PS1",
              "version": 2002, "mp_fqdn": MP_FQDN, "mp_port": 443, "cloud_sources": [],
              "other_dps": [{"name": "dp2", "fqdn": BRANCH_FQDN}]}
    with TestClient(create_site(config), raise_server_exceptions=False) as client:
        yield stock(client)


def size_of(site: TestClient, package_id: str) -> int:
    size: int = site.get("/_harness/state").json()["packages"][package_id]["physical_size"]
    return size


def listing(page: str) -> list[dict[str, str]]:
    return [match.groupdict() for match in LINE.finditer(page)]


# -- files ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    f"{DP}/{OS}/sources/install.esd",
    f"/sms_dp_smspkg$/{OS.lower()}/SOURCES/Install.ESD",
    f"/NOCERT_SMS_DP_SMSPKG$/{OS}/sources/install.esd",
    f"/nocert_sms_dp_smspkg$/{OS}/sources/install.esd",
    f"{DP}/{OS}.1/sources/install.esd",
    f"{DP}/Datalib/{OS}.1/sources/install.esd",
], ids=["canonical", "any-case", "nocert", "nocert-any-case", "library-name", "through-datalib"])
def test_a_file_is_served_from_every_content_vdir_in_any_case(dp: TestClient, path: str) -> None:
    response = dp.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == content_bytes(OS, 1, size_of(dp, OS))
    assert parsedate_to_datetime(response.headers["last-modified"]).tzinfo is not None


# -- byte ranges (a resumed download) ------------------------------------------------------------------------

FILE = f"{DP}/{OS}/sources/install.esd"


def whole(dp: TestClient) -> bytes:
    return content_bytes(OS, 1, size_of(dp, OS))


@pytest.mark.parametrize(("header", "first", "last"), [
    ("bytes=0-", 0, None),
    ("bytes=100-", 100, None),
    ("bytes=100-199", 100, 199),
    ("bytes=7-7", 7, 7),
    ("bytes=-100", -100, None),
    ("bytes=100-99999999999", 100, None),
    ("BYTES=5-9", 5, 9),
], ids=["from-0", "rest", "first-last", "one-byte", "suffix", "last-past-the-end", "any-case-unit"])
def test_a_range_of_a_file_is_206_with_its_content_range(dp: TestClient, header: str, first: int,
                                                         last: int | None) -> None:
    content = whole(dp)
    expected = content[first:] if last is None else content[first:last + 1]
    start = len(content) - len(expected) if first < 0 else first
    response = dp.get(FILE, headers={"Range": header})
    assert response.status_code == 206, response.text
    assert response.content == expected
    assert response.headers["content-range"] == f"bytes {start}-{start + len(expected) - 1}/{len(content)}"
    assert response.headers["content-length"] == str(len(expected))
    assert response.headers["accept-ranges"] == "bytes"


def test_a_file_says_it_accepts_ranges(dp: TestClient) -> None:
    response = dp.get(FILE)
    assert response.status_code == 200 and response.headers["accept-ranges"] == "bytes"
    assert "content-range" not in response.headers


@pytest.mark.parametrize("header", ["bytes=9-5", "items=0-5", "bytes=0-1,5-9", "bytes=abc-", "bytes=-", "0-5",
                                    "bytes=²-".encode("latin-1")])
def test_a_range_that_is_not_one_bytes_range_is_ignored(dp: TestClient, header: str | bytes) -> None:
    response = dp.get(FILE, headers={"Range": header} if isinstance(header, str) else {b"Range": header})
    assert response.status_code == 200
    assert response.content == whole(dp)


@pytest.mark.parametrize("header", ["bytes={size}-", "bytes={size}-{size}", "bytes=-0", "bytes=99999999999999999999-"])
def test_a_range_past_the_end_is_416_with_the_size(dp: TestClient, header: str) -> None:
    size = size_of(dp, OS)
    response = dp.get(FILE, headers={"Range": header.format(size=size)})
    assert_refused(response, 416, f"({size} bytes)", "Range:")
    assert response.headers["content-range"] == f"bytes */{size}"


def test_a_range_of_a_damaged_copy_is_the_damaged_bytes(dp: TestClient) -> None:
    assert dp.post(f"/_harness/site/packages/{OS}/damage", json={"on": ["dp"]}).status_code == 200
    damaged = b"".join(corrupted(iter([whole(dp)])))
    assert dp.get(FILE, headers={"Range": "bytes=0-9"}).content == damaged[:10]
    assert dp.get(FILE, headers={"Range": "bytes=1-"}).content == damaged[1:]


def test_the_journal_names_the_range_it_served(dp: TestClient) -> None:
    size = size_of(dp, OS)
    assert dp.get(FILE, headers={"Range": "bytes=100-"}).status_code == 206
    entry = dp.get("/_harness/journal").json()[-1]
    assert (entry["path"], entry["status"]) == (FILE, 206)
    assert entry["note"] == f"range bytes=100-{size - 1} of {size}"


@given(st.lists(st.binary(max_size=9), max_size=6), st.integers(0, 60), st.integers(0, 60))
def test_byte_slice_is_the_slice_of_the_joined_chunks(chunks: list[bytes], first: int, length: int) -> None:
    joined = b"".join(chunks)
    assert b"".join(byte_slice(iter(chunks), first, first + length)) == joined[first:first + length + 1]


# -- folder pages (docs/distribution-point.md; tests/contract/test_dp_tools.py reads them as DP tools do) ----------


@pytest.mark.parametrize(("path", "here"), [
    (f"{DP}/{OS}", f"{DP}/{OS}"),
    (f"/sms_dp_smspkg$/{OS}/", f"{DP}/{OS}"),
    (f"{DP}/{OS}/sources", f"{DP}/{OS}/sources"),
    (f"{DP}/{OS}/Sources/", f"{DP}/{OS}/sources"),
    (f"/NOCERT_SMS_DP_SMSPKG$/{PLAIN}.2", f"/NOCERT_SMS_DP_SMSPKG$/{PLAIN}.2"),
    (f"{DP}/Datalib/{OS}.1", f"{DP}/Datalib/{OS}.1"),
], ids=["package", "any-case-with-slash", "subfolder", "subfolder-any-case-with-slash", "nocert-library-name",
        "datalib-entry"])
def test_a_folder_is_listed_with_or_without_its_slash(dp: TestClient, path: str, here: str) -> None:
    response = dp.get(path, follow_redirects=False)
    assert response.status_code == 200, response.headers.get("location")
    assert response.headers["content-type"].startswith("text/html")
    assert [e["href"].rsplit("/", 1)[0] for e in listing(response.text)] == [f"{ORIGIN}{here}"]


def test_a_package_folder_page_links_its_subfolder_by_absolute_url(dp: TestClient) -> None:
    page = dp.get(f"{DP}/{OS}").text
    assert page.startswith("<html><body><pre>") and "Parent Directory" not in page
    (entry,) = listing(page)
    assert entry["size"] == f"{' ' * 11}&lt;dir&gt"
    assert entry["name"] == entry["href"] == f"{ORIGIN}{DP}/{OS}/sources"


def test_a_subfolder_lists_its_files_with_their_sizes(dp: TestClient) -> None:
    (entry,) = listing(dp.get(f"{DP}/{OS}/sources").text)
    assert int(entry["size"]) == size_of(dp, OS)
    assert len(entry["size"]) == 16
    assert entry["name"] == entry["href"] == f"{ORIGIN}{DP}/{OS}/sources/install.esd"


@pytest.mark.parametrize("path", [f"{DP}/Datalib", f"{DP}/Datalib/", "/sms_dp_smspkg$/datalib",
                                  "/NOCERT_SMS_DP_SMSPKG$/DATALIB"])
def test_datalib_lists_the_packages_on_this_dp_as_folders(dp: TestClient, path: str) -> None:
    response = dp.get(path)
    assert response.status_code == 200
    entries = listing(response.text)
    vdir = path.split("/")[1].upper()
    assert [e["href"] for e in entries] == [f"{ORIGIN}/{vdir}/Datalib/{OS}.1",  # not PS100013: it is on no DP
                                            f"{ORIGIN}/{vdir}/Datalib/{PLAIN}.2"]
    assert [e["name"] for e in entries] == [f"{ORIGIN}/{vdir}/Datalib\\{OS}.1", f"{ORIGIN}/{vdir}/Datalib\\{PLAIN}.2"]
    assert all(e["size"].endswith("&lt;dir&gt") for e in entries)
    assert dp.head(path).status_code == 200  # what anonymous-access probes ask


def test_links_carry_the_scheme_the_page_was_asked_with(dp: TestClient) -> None:
    """Over HTTPS the links are https: SCCMSecrets follows them as they are; sccm-http-looter's patterns take
    only http:// links, so its walk of an HTTPS DP's folders finds nothing (its Datalib step still works)."""
    (entry,) = listing(dp.get(f"https://{MP_FQDN}{DP}/{OS}/sources").text)
    assert entry["href"] == f"https://{MP_FQDN}{DP}/{OS}/sources/install.esd"


# -- what is not there -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "words"), [
    ("/sms_dp_smspkg$/AbCdEfGh", ["package AbCdEfGh is not on distribution point", MP_FQDN]),
    (f"{DP}/PS1FFFFF/", ["package PS1FFFFF is not on"]),
    (f"{DP}/{IDLE}", [f"package {IDLE} is not on"]),
    (f"{DP}/{IDLE}/content.bin", [f"package {IDLE} is not on"]),
    (f"{DP}/{OS}.2/", [f"package {OS}.2 is not on"]),
    (f"{DP}/{OS}./", [f"package {OS}. is not on"]),
    (f"{DP}/{OS}/nothing/", [f"package {OS} has no file 'nothing/'"]),
    (f"{DP}/{OS}/sources/install.esd/", ["has no file 'sources/install.esd/'"]),
    (f"{DP}/Datalib/PS1FFFFF.1/", ["package PS1FFFFF.1 is not on"]),
    (f"{DP}/Datalib/{IDLE}.1", [f"package {IDLE}.1 is not on"]),
], ids=["random8", "unknown", "not-distributed", "file-not-distributed", "wrong-version", "empty-version",
        "no-such-folder", "file-as-folder", "datalib-unknown", "datalib-not-distributed"])
def test_what_the_dp_does_not_hold_is_404(dp: TestClient, path: str, words: list[str]) -> None:
    """404, not 401: the anonymous-access probe of spec §6.3 [S50] reads it as "anonymous access enabled"."""
    assert_refused(dp.get(path, follow_redirects=False), 404, *words)


@pytest.mark.parametrize(("path", "words"), [
    (f"{DP}/{OS}/%2e%2e/%2e%2e/windows/win.ini", ["has no file '../../windows/win.ini'"]),
    (f"{DP}/{OS}/..%2f..%2fwindows%2fwin.ini", ["has no file '../../windows/win.ini'"]),
    (f"{DP}/{OS}/..%5c..%5cwindows%5cwin.ini", ["has no file '..\\\\..\\\\windows\\\\win.ini'"]),
    (f"{DP}/{OS}/sources%5cinstall.esd", ["has no file 'sources\\\\install.esd'"]),
    (f"{DP}/{OS}/sources/%2e%2e/sources/install.esd", ["has no file 'sources/../sources/install.esd'"]),
    (f"{DP}/%2e%2e/{OS}/sources/install.esd", ["package .. is not on"]),
    (f"{DP}/%2e%2e%5c{OS}/", ["package ..\\"]),
    (f"{DP}/Datalib/%2e%2e/{OS}.1/", ["package .. is not on"]),
    (f"{DP}/Datalib/..%2f{OS}.1", ["package .. is not on"]),
    (f"{SIG}/..%5c{OS}.1.tar", ["package ..\\"]),
], ids=["dot-dot-encoded", "slash-encoded", "backslash-encoded", "backslash-in-path", "dot-dot-inside",
        "package-dot-dot", "package-backslash", "datalib-dot-dot", "datalib-slash-encoded", "signature-backslash"])
def test_path_traversal_names_nothing(dp: TestClient, path: str, words: list[str]) -> None:
    assert_refused(dp.get(path, follow_redirects=False), 404, *words)


def test_literal_dot_segments_name_nothing(dp: TestClient) -> None:
    """httpx removes `..` before sending; a raw client (and h11 behind uvicorn) does not."""
    status, body = raw_get(dp, f"/sms_dp_smspkg$/{OS}/sources/../../../windows/win.ini")
    assert (status, b"has no file 'sources/../../../windows/win.ini'" in body) == (404, True)


# -- WebDAV PROPFIND -------------------------------------------------------------------------------------------


def propfind(client: TestClient, path: str, depth: str | None = None, **headers: str) -> Any:
    return client.request("PROPFIND", path, headers={**headers, **({"depth": depth} if depth is not None else {})})


def resources(response: Any) -> list[tuple[str, bool, int]]:
    """(href, is a collection, getcontentlength) of each response of a 207."""
    assert response.status_code == 207, response.text
    found = []
    for item in fromstring(response.text).findall(f"{D}response"):
        prop = item.find(f"{D}propstat/{D}prop")
        assert prop is not None
        parsedate_to_datetime(prop.findtext(f"{D}getlastmodified") or "")
        found.append((item.findtext(f"{D}href") or "", prop.find(f"{D}resourcetype/{D}collection") is not None,
                      int(prop.findtext(f"{D}getcontentlength") or "-1")))
    return found


@pytest.mark.parametrize("depth", [None, "1"], ids=["absent", "1"])
def test_propfind_lists_the_package_and_its_files(dp: TestClient, depth: str | None) -> None:
    assert resources(propfind(dp, f"{DP}/{OS}", depth)) == [
        (f"{DP}/{OS}", True, 0), (f"{DP}/{OS}/sources/install.esd", False, size_of(dp, OS))]


@pytest.mark.parametrize(("path", "depth", "expected"), [
    (f"{DP}/{OS}", "0", [(f"{DP}/{OS}", True, 0)]),
    (f"/sms_dp_smspkg$/{OS.lower()}/", "1", [(f"{DP}/{OS.lower()}/", True, 0),
                                              (f"{DP}/{OS.lower()}/sources/install.esd", False, -1)]),
    (f"{DP}/{OS}/sources", "1", [(f"{DP}/{OS}/sources", True, 0), (f"{DP}/{OS}/sources/install.esd", False, -1)]),
    (f"{DP}/{OS}/sources/install.esd", "1", [(f"{DP}/{OS}/sources/install.esd", False, -1)]),
    (f"/NOCERT_SMS_DP_SMSPKG$/{PLAIN}.2", "1", [("/NOCERT_SMS_DP_SMSPKG$/PS100012.2", True, 0),
                                                 ("/NOCERT_SMS_DP_SMSPKG$/PS100012.2/content.bin", False, -2)]),
    (f"{DP}/Datalib", "1", [(f"{DP}/Datalib", True, 0), (f"{DP}/Datalib/{OS}.1/", True, 0),
                            (f"{DP}/Datalib/{PLAIN}.2/", True, 0)]),
    (f"{DP}/Datalib", "0", [(f"{DP}/Datalib", True, 0)]),
], ids=["depth-0", "any-case-with-slash", "subfolder", "file", "nocert-library-name", "datalib", "datalib-depth-0"])
def test_propfind_answers_for_what_it_names(dp: TestClient, path: str, depth: str,
                                            expected: list[tuple[str, bool, int]]) -> None:
    sizes = {-1: size_of(dp, OS), -2: size_of(dp, PLAIN)}
    assert resources(propfind(dp, path, depth)) == [(h, c, sizes.get(n, n)) for h, c, n in expected]


@pytest.mark.parametrize(("path", "depth", "status", "words"), [
    (f"{DP}/{OS}", "infinity", 403, ["Depth: infinity is refused"]),
    (f"{DP}/Datalib", "Infinity", 403, ["allowInfinitePropfindDepth"]),
    (f"{DP}/{OS}", "2", 400, ["Depth must be 0, 1 or infinity", "'2'"]),
    (f"{DP}/PS1FFFFF", "1", 404, ["package PS1FFFFF is not on distribution point"]),
    (f"{DP}/{IDLE}", "1", 404, [f"package {IDLE} is not on"]),
    (f"{DP}/AbCdEfGh/", "1", 404, ["package AbCdEfGh is not on"]),
    (f"{DP}/{OS}/setup.exe", "1", 404, [f"package {OS} has no file 'setup.exe'"]),
    (f"{DP}/{OS}/%2e%2e/%2e%2e", "1", 404, ["has no file '../..'"]),
], ids=["infinity", "infinity-datalib", "depth-2", "unknown", "not-distributed", "random8", "no-such-file",
        "traversal"])
def test_propfind_refusals_name_the_problem(dp: TestClient, path: str, depth: str, status: int,
                                            words: list[str]) -> None:
    assert_refused(propfind(dp, path, depth), status, *words)


# -- signatures --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "member"), [
    (f"{SIG}/{OS}.1.tar", f"{OS}.1"), (f"/sms_dp_smssig$/{OS.lower()}.1.TAR", f"{OS}.1"),
    (f"{SIG}/{PLAIN}.2.tar", f"{PLAIN}.2"),
])
def test_signatures_are_a_small_deterministic_tar(dp: TestClient, path: str, member: str) -> None:
    response = dp.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == dp.get(path).content
    with tarfile.open(fileobj=io.BytesIO(response.content)) as tar:
        assert tar.getnames() == [member]


def test_the_signature_url_of_a_location_reply_answers(dp: TestClient) -> None:
    body, content_type = encode_message(CcmMessage("MP_LocationManager", build_location_request(
        ContentLocationRequest(PLAIN, 2, "PS1", use_azure=False, use_internet_dp=False))))
    reply = dp.request("CCM_POST", "/ccm_system/request", content=body, headers={"content-type": content_type})
    (record,) = parse_location_reply(decode_reply(reply.content, reply.headers.get("content-type", CONTENT_TYPE))
                                     ).records
    assert record.signature_url.endswith(f"{SIG}/{PLAIN}.2.tar")
    assert dp.get(SIG + record.signature_url.split(SIG, 1)[1]).status_code == 200


@pytest.mark.parametrize(("name", "words"), [
    (f"{OS}.2.tar", [f"package {OS}.2 is not on"]),
    (f"{IDLE}.1.tar", [f"package {IDLE}.1 is not on"]),
    ("PS1FFFFF.1.tar", ["package PS1FFFFF.1 is not on"]),
    (f"{OS}.tar", [f"no signature '{OS}.tar'", "<PackageID>.<version>.tar"]),
    (f"{OS}.1.zip", [f"no signature '{OS}.1.zip'"]),
    (".tar", ["no signature '.tar'"]),
    ("%2e%2e.tar", ["package .. is not on"]),
])
def test_unknown_signatures_are_404(dp: TestClient, name: str, words: list[str]) -> None:
    assert_refused(dp.get(f"{SIG}/{name}"), 404, *words)


# -- token vdirs -------------------------------------------------------------------------------------------


def bad_token(make_token: MakeToken, how: str) -> str | None:
    return {"none": None, "not-a-token": "let-me-in", "forged": make_token("ccm", key=b"not the site's key"),
            "expired": make_token("ccm", valid_from=timedelta(hours=-10), valid_for=timedelta(hours=1)),
            "site-token": make_token("site"), "content-token": make_token("content")}[how]


@pytest.mark.parametrize("path", [
    f"{TOKEN_DP}/{OS}/sources/install.esd", f"{TOKEN_DP}/{OS}/", f"{TOKEN_DP}/AbCdEfGh", f"{TOKEN_DP}/Datalib",
    f"{TOKEN_SIG}/{OS}.1.tar", f"/ccmtokenauth_sms_dp_smspkg$/{OS}/",
], ids=["file", "listing", "random8", "datalib", "signature", "any-case"])
@pytest.mark.parametrize(("how", "words"), [
    ("none", ["a ccm token is required"]),
    ("not-a-token", ["ccm token rejected", "malformed"]),
    ("forged", ["ccm token rejected", "bad signature"]),
    ("expired", ["ccm token rejected", "expired"]),
    ("site-token", ["ccm token rejected", "wrong kind"]),
    ("content-token", ["ccm token rejected", "wrong kind"]),
])
def test_token_vdirs_refuse_anything_but_a_ccm_token(dp: TestClient, make_token: MakeToken, path: str, how: str,
                                                    words: list[str]) -> None:
    token = bad_token(make_token, how)
    response = dp.get(path, headers={"authorization": f"Bearer {token}"} if token else {})
    assert_refused(response, 401, *words, "CCMTOKENAUTH_SMS_DP_SMS")


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", f"{TOKEN_DP}/{OS}/sources/install.esd", 200), ("GET", f"{TOKEN_DP}/{OS}/", 200),
    ("GET", f"{TOKEN_DP}/Datalib", 200), ("PROPFIND", f"{TOKEN_DP}/{OS}", 207), ("GET", f"{TOKEN_SIG}/{OS}.1.tar", 200),
    ("GET", f"{TOKEN_DP}/AbCdEfGh", 404),
])
def test_token_vdirs_serve_the_same_content_with_a_ccm_token(dp: TestClient, make_token: MakeToken, method: str,
                                                             path: str, status: int) -> None:
    response = dp.request(method, path, headers={"authorization": f"Bearer {make_token('ccm')}"})
    assert response.status_code == status, response.text


# -- verbs ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", f"{DP}/{OS}/sources/install.esd", "PROPFIND"),
    ("DELETE", f"{DP}/{OS}", "GET"),
    ("MKCOL", f"{DP}/{OS}/new/", "PROPFIND"),
    ("POST", f"{DP}/Datalib", "GET"),
    ("PROPPATCH", f"/sms_dp_smspkg$/{OS}", "PROPFIND"),
    ("LOCK", f"/NOCERT_SMS_DP_SMSPKG$/{OS}/content.bin", "GET"),
    ("PUT", f"{TOKEN_DP}/{OS}/x", "GET"),
    ("PROPFIND", f"{SIG}/{OS}.1.tar", "GET"),
    ("DELETE", f"{TOKEN_SIG}/{OS}.1.tar", "GET"),
])
def test_wrong_verbs_are_405_naming_the_allowed_ones(dp: TestClient, method: str, path: str, allowed: str) -> None:
    response = dp.request(method, path)
    assert_refused(response, 405, f"{method} is not allowed on", allowed)
    assert allowed in response.headers["allow"]


# -- which DP ------------------------------------------------------------------------------------------------


def test_each_dp_serves_only_what_was_distributed_to_it(branch: TestClient) -> None:
    host = {"host": BRANCH_FQDN}
    assert_refused(branch.get(f"{DP}/{OS}/sources/install.esd", headers=host), 404,
                   f"package {OS} is not on distribution point {BRANCH_FQDN}")
    assert listing(branch.get(f"{DP}/Datalib", headers=host).text) == []
    assert branch.post(f"/_harness/site/packages/{PLAIN}/distribute", json={"to": ["dp2"]}).status_code == 200
    page = branch.get(f"{DP}/Datalib", headers=host).text
    assert [e["href"] for e in listing(page)] == [f"http://{BRANCH_FQDN}{DP}/Datalib/{PLAIN}.2"]
    assert branch.get(f"{DP}/{PLAIN}/content.bin", headers=host).status_code == 200

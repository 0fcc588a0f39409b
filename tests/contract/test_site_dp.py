"""The site's distribution point: files and byte ranges, folder pages and Datalib, what it does not
hold, and which DP serves what; tests/contract/test_site_dp_vdirs.py covers WebDAV PROPFIND, signatures, the token
vdirs and verbs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from harness.clock.model_clock import ModelClock
from harness.emulators.site.app import create_app as create_site
from harness.emulators.site.dp import byte_slice
from harness.model.content import content_bytes, corrupted
from harness.net.tls import TestPKI
from harness.service.configs import SiteServiceConfig
from tests.contract.dp_requests import DP, IDLE, OS, PLAIN, SIG, size_of, stock
from tests.contract.raw import raw_get
from tests.contract.refusals import assert_refused
from tests.contract.site_requests import MP_FQDN

BRANCH_FQDN = "dp02.branch.contoso.example"
ORIGIN = "http://testserver"  # TestClient's host: not a DP name, so the site's own DP answers
LINE = re.compile(r'(?P<date>[ \d]\d/[ \d]\d/\d{4}) (?P<time>[ \d]\d:\d\d [ap]m) (?P<size> {11}&lt;dir&gt| *\d+) '
                  r'<a href="(?P<href>[^"]+)">(?P<name>[^<]+)</a><br>')


@pytest.fixture
def branch(pki: TestPKI, clock: ModelClock, key: bytes) -> Iterator[TestClient]:
    """A site that also serves the branch DP dp2, by its own name."""
    config = {"tls": {"ca": str(pki.ca_cert_path)}, "clock": clock.to_json(), "key": key.hex(), "site_code": "PS1",
              "version": 2002, "mp_fqdn": MP_FQDN, "mp_port": 443, "cloud_sources": [],
              "other_dps": [{"name": "dp2", "fqdn": BRANCH_FQDN}]}
    with TestClient(create_site(SiteServiceConfig.from_json(config)), raise_server_exceptions=False) as client:
        yield stock(client)


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
    """404, not 401: the anonymous-access probe of SCCMSecrets (github.com/synacktiv/SCCMSecrets) reads it as
    "anonymous access enabled"."""
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

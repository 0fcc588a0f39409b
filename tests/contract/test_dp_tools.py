"""The DP's listings as two public DP tools read them (docs/distribution-point.md): their parsing rules,
re-implemented here from what their source does, run against the emulated Datalib and package listings.

- SCCMSecrets (synacktiv): every `<a>` of Datalib names a package by its href's last `/` part, `.INI` links
  aside; in a package listing a link is a folder when the text just before it holds "dir", else a file, and a
  file's package is the second part of its URL path.
- sccm-http-looter (badsectorlabs): the same Datalib rule (a name without "http" is asked for under the vdir);
  in a listing, files are `\\d+ <a href="(http://…)">` and folders `&lt;dir&gt <a href="(http://…)">`,
  case-sensitive, as its Go regexes are.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from starlette.testclient import TestClient

from harness.model.content import content_bytes

DP = "/SMS_DP_SMSPKG$"
OS, PLAIN = "PS100011", "PS100012"
ORIGIN = "http://testserver"
LOOTER_FILE = re.compile(r'\d+ <a href="(http://[^"]+)">')
LOOTER_FOLDER = re.compile(r'&lt;dir&gt <a href="(http://[^"]+)">')


class Links(HTMLParser):
    """Each `<a href>` with the text before it in its parent, as BeautifulSoup's
    `find_previous_sibling(string=True)` gives it: None for a link that opens its parent."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str | None]] = []
        self._text: str | None = None
        self._in_link = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.found.append((dict(attrs).get("href") or "", self._text))
            self._in_link = True
        elif tag in ("html", "body", "pre"):  # a new parent: its first child has no sibling before it
            self._text = None

    def handle_endtag(self, tag: str) -> None:
        self._in_link = self._in_link and tag != "a"

    def handle_data(self, data: str) -> None:
        if not self._in_link:
            self._text = data


def links(page: str) -> list[tuple[str, str | None]]:
    parser = Links()
    parser.feed(page)
    parser.close()
    return parser.found


def stock(site: TestClient) -> TestClient:
    """PS100011 (an OS upgrade package: sources/install.esd) and PS100012 version 2 (content.bin) on the DP."""
    for package_id, body in ((OS, {"name": "Windows 11", "size": "3 MB", "type": "OS upgrade package"}),
                             (PLAIN, {"name": "Tools", "size": "1 MB", "version": 2})):
        assert site.put(f"/_harness/site/packages/{package_id}", json=body).status_code == 200
        assert site.post(f"/_harness/site/packages/{package_id}/distribute", json={"to": ["dp"]}).status_code == 200
    return site


@pytest.fixture
def dp(site: TestClient) -> TestClient:
    return stock(site)


def listing(dp: TestClient, url: str) -> str:
    """A listing as both tools fetch it: their HTTP clients (requests, Go's net/http) follow redirects."""
    response = dp.get(url, follow_redirects=True)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return response.text


# -- SCCMSecrets -------------------------------------------------------------------------------------------


def sccmsecrets_packages(dp: TestClient) -> set[str]:
    page = listing(dp, "/sms_dp_smspkg$/datalib")
    return {href.split("/")[-1].strip() for href, _ in links(page) if not href.split("/")[-1].endswith(".INI")}


def sccmsecrets_files(dp: TestClient, url: str) -> list[str]:
    """The files of a listing and of the folders below it, as SCCMSecrets' recursive fetch indexes them."""
    files: list[str] = []
    for href, before in links(listing(dp, url)):
        files += sccmsecrets_files(dp, href) if before and "dir" in before else [href]
    return files


def test_sccmsecrets_finds_exactly_the_packages_on_the_dp(dp: TestClient) -> None:
    assert sccmsecrets_packages(dp) == {f"{OS}.1", f"{PLAIN}.2"}  # no '' from a link to the parent folder


@pytest.mark.parametrize(("package", "files"), [
    (f"{OS}.1", [f"{ORIGIN}{DP}/{OS}.1/sources/install.esd"]),
    (f"{PLAIN}.2", [f"{ORIGIN}{DP}/{PLAIN}.2/content.bin"]),
])
def test_sccmsecrets_indexes_only_the_package_s_files(dp: TestClient, package: str, files: list[str]) -> None:
    assert sccmsecrets_files(dp, f"/sms_dp_smspkg$/{package}") == files


def test_sccmsecrets_downloads_each_file_under_its_package(dp: TestClient) -> None:
    (url,) = sccmsecrets_files(dp, f"/sms_dp_smspkg$/{OS}.1")
    path = url.removeprefix(ORIGIN)
    assert (path.split("/")[2], "__".join(path.split("/")[3:])) == (f"{OS}.1", "sources__install.esd")
    content = dp.get(url).content
    assert content and content == content_bytes(OS, 1, len(content))


# -- sccm-http-looter ----------------------------------------------------------------------------------------


def looter_names(dp: TestClient) -> list[str]:
    return [href.split("/")[-1].strip() for href, _ in links(listing(dp, f"{DP}/Datalib"))]


def looter_files(dp: TestClient, url: str) -> list[str]:
    page = listing(dp, url)
    found = LOOTER_FILE.findall(page)
    for folder in LOOTER_FOLDER.findall(page):
        found += looter_files(dp, folder)
    return found


def test_looter_finds_exactly_the_packages_on_the_dp(dp: TestClient) -> None:
    urls = [name if "http" in name else f"{ORIGIN}{DP}/{name}"
            for name in looter_names(dp) if not name.endswith(".INI")]
    assert urls == [f"{ORIGIN}{DP}/{OS}.1", f"{ORIGIN}{DP}/{PLAIN}.2"]


@pytest.mark.parametrize(("package", "files"), [
    (f"{OS}.1", [f"{ORIGIN}{DP}/{OS}.1/sources/install.esd"]),
    (f"{PLAIN}.2", [f"{ORIGIN}{DP}/{PLAIN}.2/content.bin"]),
])
def test_looter_s_patterns_match_every_link_down_to_the_files(dp: TestClient, package: str,
                                                              files: list[str]) -> None:
    found = looter_files(dp, f"{ORIGIN}{DP}/{package}")
    assert found == files
    assert [dp.get(file).status_code for file in found] == [200]


def test_looter_s_signature_method_finds_each_package_s_signature(dp: TestClient) -> None:
    names = [name for name in looter_names(dp) if not name.endswith(".INI")]
    assert [dp.get(f"/SMS_DP_SMSSIG$/{name}.tar").status_code for name in names] == [200, 200]


# -- a folder by its name alone ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [f"/sms_dp_smspkg$/{OS}", f"{DP}/{OS}.1", f"{DP}/{OS}/sources",
                                  f"/NOCERT_SMS_DP_SMSPKG$/{PLAIN}.2", f"{DP}/Datalib/{OS}.1"])
def test_a_folder_asked_for_without_a_trailing_slash_is_listed_at_once(dp: TestClient, path: str) -> None:
    """As a real DP does (sccm-http-looter's screenshot of `/SMS_DP_SMSPKG$/<package>`); impacket's port of
    SCCMSecrets' rules asks with http.client, which would take a 301's "Object Moved" body for the listing."""
    response = dp.get(path, follow_redirects=False)
    assert response.status_code == 200, response.headers.get("location")
    assert LOOTER_FILE.search(response.text) or LOOTER_FOLDER.search(response.text)

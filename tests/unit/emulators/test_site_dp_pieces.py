"""The distribution point's pieces that need no HTTP: a package's folders, its folder pages and WebDAV answers,
the PROPFIND Depth rule, the signature tar, and vdir routes that match in any case."""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, datetime

import pytest
from defusedxml.ElementTree import fromstring
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match

from harness.emulators.site.config import DistributedPackage
from harness.emulators.site.dp import (
    Entry,
    VdirRoute,
    children,
    files_below,
    find,
    folders,
    multistatus,
    propfind_depth,
    signature_tar,
)
from harness.emulators.site.listing import listing_page
from harness.model.task_sequence import Package, PackageType
from harness.service.control import HttpError

WHEN = datetime(2026, 11, 2, 15, 7, tzinfo=UTC)
FILES = {"sources/install.esd": 600, "sources/boot/boot.wim": 70, "setup.exe": 5}
D = "{DAV:}"


def test_folders_are_every_parent_of_a_file() -> None:
    assert folders(FILES) == {"", "sources", "sources/boot"}
    assert folders({"content.bin": 1}) == {""}


@pytest.mark.parametrize(("path", "found"), [
    ("setup.exe", ("setup.exe", False)),
    ("SOURCES/Install.ESD", ("sources/install.esd", False)),
    ("", ("", True)),
    ("sources", ("sources", True)),
    ("Sources/Boot/", ("sources/boot", True)),
    ("setup.exe/", None),
    ("sources//", None),
    ("../setup.exe", None),
    ("sources/../setup.exe", None),
    ("sources\\install.esd", None),
    ("nothing", None),
])
def test_find_names_files_and_folders_in_any_case(path: str, found: tuple[str, bool] | None) -> None:
    assert find(FILES, path) == found


def test_children_are_the_folder_s_own_entries_by_name() -> None:
    assert children(FILES, "") == [("setup.exe", 5), ("sources", None)]
    assert children(FILES, "sources") == [("boot", None), ("install.esd", 600)]
    assert children(FILES, "sources/boot") == [("boot.wim", 70)]


def test_files_below_a_folder_are_at_any_depth() -> None:
    assert files_below(FILES, "") == sorted(FILES)
    assert files_below(FILES, "sources") == ["sources/boot/boot.wim", "sources/install.esd"]


def test_a_folder_page_is_one_line_per_entry_as_a_real_dp_writes_it() -> None:
    """Columns as on sccm-http-looter's screenshots of a real DP; lower-case tags and `&lt;dir&gt` (no ";")."""
    page = listing_page([
        Entry("https://cm01/SMS_DP_SMSPKG$/Datalib\\PS100011.1", "https://cm01/SMS_DP_SMSPKG$/Datalib/PS100011.1",
              None, WHEN),
        Entry("https://cm01/SMS_DP_SMSPKG$/PS100011/a&b.txt", "https://cm01/SMS_DP_SMSPKG$/PS100011/a%26b.txt", 703,
              datetime(2019, 1, 3, 0, 1, tzinfo=UTC)),
    ])
    assert page == (
        "<html><body><pre>"
        "11/ 2/2026  3:07 pm            &lt;dir&gt <a href=\"https://cm01/SMS_DP_SMSPKG$/Datalib/PS100011.1\">"
        "https://cm01/SMS_DP_SMSPKG$/Datalib\\PS100011.1</a><br>"
        " 1/ 3/2019 12:01 am              703 <a href=\"https://cm01/SMS_DP_SMSPKG$/PS100011/a%26b.txt\">"
        "https://cm01/SMS_DP_SMSPKG$/PS100011/a&amp;b.txt</a><br>"
        "</pre></body></html>\r\n")


def test_an_empty_folder_page_has_no_lines() -> None:
    assert listing_page([]) == "<html><body><pre></pre></body></html>\r\n"


def test_multistatus_describes_collections_and_files() -> None:
    xml = multistatus([Entry("PS100011", "/SMS_DP_SMSPKG$/PS100011", None, WHEN),
                       Entry("content.bin", "/SMS_DP_SMSPKG$/PS100011/content.bin", 200, WHEN)])
    folder, file = fromstring(xml).findall(f"{D}response")
    assert folder.findtext(f"{D}href") == "/SMS_DP_SMSPKG$/PS100011"
    assert folder.find(f"{D}propstat/{D}prop/{D}resourcetype/{D}collection") is not None
    assert file.find(f"{D}propstat/{D}prop/{D}resourcetype/{D}collection") is None
    assert file.findtext(f"{D}propstat/{D}prop/{D}getcontentlength") == "200"
    assert file.findtext(f"{D}propstat/{D}prop/{D}getlastmodified") == "Mon, 02 Nov 2026 15:07:00 GMT"
    assert file.findtext(f"{D}propstat/{D}status") == "HTTP/1.1 200 OK"


@pytest.mark.parametrize(("header", "depth"), [(None, 1), ("1", 1), ("0", 0), (" 0 ", 0)])
def test_propfind_depth_is_0_or_1_and_1_when_absent(header: str | None, depth: int) -> None:
    assert propfind_depth(header) == depth


@pytest.mark.parametrize(("header", "status", "words"), [
    ("infinity", 403, "Depth: infinity is refused"), ("Infinity", 403, "allowInfinitePropfindDepth"),
    ("2", 400, "got '2'"), ("", 400, "got ''"), ("one", 400, "0, 1 or infinity"),
])
def test_propfind_depth_refuses_infinity_and_nonsense(header: str, status: int, words: str) -> None:
    with pytest.raises(HttpError) as refused:
        propfind_depth(header)
    assert refused.value.status == status
    assert words in refused.value.reason


def test_signature_tar_is_a_deterministic_tar_naming_the_package_folder() -> None:
    record = DistributedPackage(Package("PS100011", "Windows 11", 3_000_000, version=4, kind=PackageType.OS_UPGRADE),
                                600, "AB" * 32, updated=WHEN)
    data = signature_tar(record)
    assert data == signature_tar(record)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        (member,) = tar.getmembers()
        assert member.name == "PS100011.4"
        extracted = tar.extractfile(member)
        assert extracted is not None
        assert extracted.read().decode() == f"sources/install.esd\t600\nSHA256\t{'AB' * 32}\n"


async def _ok(request: Request) -> Response:
    return PlainTextResponse("ok")


@pytest.mark.parametrize(("path", "match"), [
    ("/SMS_DP_SMSPKG$/PS100011", Match.FULL),
    ("/sms_dp_smspkg$/ps100011", Match.FULL),
    ("/Sms_Dp_SmsPkg$/x", Match.FULL),
    ("/NOCERT_SMS_DP_SMSPKG$/PS100011", Match.NONE),
    ("/SMS_DP_SMSPKGX/PS100011", Match.NONE),
    ("/sms_dp_smspkg$/a/b", Match.NONE),
])
def test_vdir_routes_match_in_any_case(path: str, match: Match) -> None:
    route = VdirRoute("/SMS_DP_SMSPKG$/{name}", _ok, methods=["GET"])
    assert route.matches({"type": "http", "path": path, "method": "GET", "root_path": ""})[0] == match

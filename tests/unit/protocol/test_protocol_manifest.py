import pytest

from harness.protocol.errors import ProtocolError
from harness.protocol.manifest import ContentManifest, ManifestFile, build_manifest, parse_manifest

HASH = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
MANIFEST = ContentManifest(
    "PS100004",
    2,
    HASH,
    (
        ManifestFile(
            "install.wim",
            4_500_000_000,
            "https://contosocmg.blob.core.example:10000/pkgs/PS100004.2/install.wim?sv=2021&sig=a%2Bb",
        ),
        ManifestFile(
            "setup.exe", 0, "https://contosocmg.blob.core.example:10000/pkgs/PS100004.2/setup.exe?sv=1"
        ),
    ),
)


def test_round_trip() -> None:
    text = build_manifest(MANIFEST)
    assert text.startswith(
        f'<ContentManifest PackageID="PS100004" Version="2" HashAlgorithm="SHA256" Hash="{HASH}">'
    )
    assert (
        '<File Name="install.wim" Size="4500000000" URL="https://contosocmg.blob.core.example:10000/' in text
    )
    assert parse_manifest(text) == MANIFEST


def test_empty_manifest() -> None:
    empty = ContentManifest("PS100004", 1, HASH, ())
    assert parse_manifest(build_manifest(empty)) == empty


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('PackageID="PS100004" ', "", r"missing <ContentManifest PackageID>$"),
        ('HashAlgorithm="SHA256"', 'HashAlgorithm="SHA1"', r"HashAlgorithm 'SHA1' is not SHA256$"),
        ('Size="0"', 'Size="-1"', r"<File Size> must be at least 0, got -1$"),
        ('Size="0"', 'Size="big"', r"<File Size> is not an integer: 'big'$"),
        ('Name="setup.exe" ', "", r"missing <File Name>$"),
        ("<ContentManifest ", "<Manifest ", r"not well-formed XML"),
    ],
)
def test_errors_name_the_problem(old: str, new: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=f"^ContentManifest: {message}"):
        parse_manifest(build_manifest(MANIFEST).replace(old, new, 1))


def test_wrong_root() -> None:
    with pytest.raises(ProtocolError, match=r"^ContentManifest: root element is <Files>"):
        parse_manifest("<Files/>")

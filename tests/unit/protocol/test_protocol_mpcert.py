import pytest

from harness.protocol.errors import ProtocolError
from harness.protocol.mpcert import build_mpcert, parse_mpcert

DER = bytes.fromhex("308201bc30820161a0030201020214")


def test_build_gives_the_certificate_as_upper_case_hex() -> None:
    assert build_mpcert(DER) == "<MPCERT><Certificate>308201BC30820161A0030201020214</Certificate></MPCERT>"


def test_round_trip() -> None:
    assert parse_mpcert(build_mpcert(DER)) == DER
    assert parse_mpcert(build_mpcert(bytes(range(256)))) == bytes(range(256))


def test_lower_case_hex_and_whitespace_parse() -> None:
    assert parse_mpcert("<MPCERT><Certificate>\n  308201bc\n</Certificate></MPCERT>") == bytes.fromhex("308201bc")


def test_an_empty_certificate_is_not_built() -> None:
    with pytest.raises(ProtocolError, match=r"^MPCERT: a certificate is required$"):
        build_mpcert(b"")


@pytest.mark.parametrize(("xml", "message"), [
    ("<MPList/>", r"root element is <MPList>, expected <MPCERT>"),
    ("<MPCERT/>", r"missing <Certificate>$"),
    ("<MPCERT><Certificate/></MPCERT>", r"<Certificate> is not hex-encoded DER: ''$"),
    ("<MPCERT><Certificate>308</Certificate></MPCERT>", r"<Certificate> is not hex-encoded DER: '308'$"),
    ("<MPCERT><Certificate>30 82</Certificate></MPCERT>", r"<Certificate> is not hex-encoded DER"),
    ("<MPCERT><Certificate>MIIBvDCCAWGg</Certificate></MPCERT>", r"<Certificate> is not hex-encoded DER: 'MIIB"),
    ("<MPCERT><Certificate>", r"not well-formed XML"),
])
def test_errors_name_the_problem(xml: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=f"^MPCERT: {message}"):
        parse_mpcert(xml)

from xml.etree.ElementTree import Element

import pytest

from harness.protocol.errors import (
    MAX_XML_CHARS,
    ProtocolError,
    attr,
    child,
    parse_xml,
    serialize,
    sub,
    to_bool01,
    to_int,
)


def test_protocol_error_is_a_value_error() -> None:
    assert issubclass(ProtocolError, ValueError)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"<a/>", "Doc: expected XML text, got bytes"),
        ("", "Doc: not well-formed XML"),
        ("<a>", "Doc: not well-formed XML"),
        ("<a>\ud800</a>", "Doc: not well-formed XML"),
        ('<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', "Doc: not well-formed XML"),
        ("<a/>" + " " * MAX_XML_CHARS, "Doc: document is larger than"),
    ],
)
def test_parse_xml_rejects(text: object, message: str) -> None:
    with pytest.raises(ProtocolError, match=f"^{message}"):
        parse_xml(text, "Doc")


def test_parse_xml_refuses_entity_expansion() -> None:
    bomb = '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>'
    with pytest.raises(ProtocolError, match="not well-formed XML"):
        parse_xml(bomb, "Doc")


def test_parse_xml_ignores_a_leading_byte_order_mark() -> None:
    assert parse_xml("\ufeff<a/>", "Doc").tag == "a"


def test_missing_parts_are_named() -> None:
    root = parse_xml('<Root><Package Version="1"/></Root>', "Root")
    with pytest.raises(ProtocolError, match=r"^Root: missing <Package ID>$"):
        attr(child(root, "Package", "Root"), "ID", "Root")
    with pytest.raises(ProtocolError, match=r"^Root: missing <AssignedSite>$"):
        child(root, "AssignedSite", "Root")


@pytest.mark.parametrize("text", ["1_000", "١٢", "0x10", "1.5", "", " "])
def test_to_int_is_strict_decimal(text: str) -> None:
    with pytest.raises(ProtocolError, match=r"^Doc: <X> is not an integer"):
        to_int(text, "Doc", "<X>")


def test_to_int_minimum() -> None:
    assert to_int(" 7\n", "Doc", "<X>", minimum=0) == 7
    with pytest.raises(ProtocolError, match="must be at least 0, got -1"):
        to_int("-1", "Doc", "<X>", minimum=0)


def test_to_bool01_takes_only_0_and_1() -> None:
    assert to_bool01("1", "Doc", "UseAzure") is True
    with pytest.raises(ProtocolError, match=r'^Doc: UseAzure must be "0" or "1", got \'true\'$'):
        to_bool01("true", "Doc", "UseAzure")


def test_serialize_keeps_carriage_returns_and_refuses_what_xml_cannot_carry() -> None:
    root = Element("Root", Value="a\r\nb")
    sub(root, "Text", "c\r\nd")
    parsed = parse_xml(serialize(root), "Root")
    assert parsed.get("Value") == "a\r\nb"
    assert parsed.findtext("Text") == "c\r\nd"
    with pytest.raises(ProtocolError, match=r"^Root: a value contains U\+0001"):
        serialize(Element("Root", Value="\x01"))


def test_to_int_refuses_absurdly_long_numbers() -> None:
    with pytest.raises(ProtocolError, match="is not an integer"):
        to_int("9" * 5000, "Doc", "<X>")

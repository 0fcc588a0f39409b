from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

from harness.client.identity import SigningIdentity, new_signing_identity
from harness.protocol.errors import ProtocolError
from harness.protocol.registration import (
    RegistrationReply,
    RegistrationRequest,
    build_registration_reply,
    build_registration_request,
    parse_registration_reply,
    parse_registration_request,
    registration_data,
    sign_request,
    verify_signature,
)

SMSID = "GUID:3FB5CF5D-0C4B-4B1E-8F00-9E5D2A1B7C10"


@pytest.fixture(scope="module")
def identity() -> SigningIdentity:
    return new_signing_identity("CLIENT01", datetime(2026, 11, 2, tzinfo=UTC))


@pytest.fixture(scope="module")
def signed(identity: SigningIdentity) -> RegistrationRequest:
    request = RegistrationRequest("CLIENT01", "CLIENT01.corp.contoso.example", True, "2026-11-02T08:00:00Z",
                                  identity.certificate_hex, identity.certificate_hex)
    return sign_request(request, identity.key)


def test_request_has_the_documented_shape_and_round_trips(signed: RegistrationRequest) -> None:
    text = build_registration_request(signed)
    data = registration_data(signed)
    assert text == f"<ClientRegistrationRequest>{data}<Signature><SignatureValue>{signed.signature}" \
                   "</SignatureValue></Signature></ClientRegistrationRequest>"
    assert data.startswith('<Data HashAlgorithm="1.2.840.113549.1.1.11" SMSID="" RequestType="Registration" '
                           'TimeStamp="2026-11-02T08:00:00Z"><AgentInformation AgentIdentity="CCMSetup.exe" '
                           'AgentVersion="5.00.8913.1000" AgentType="0" /><Certificates><Encryption '
                           'Encoding="HexBinary" KeyType="1">')
    assert data.endswith('<DiscoveryProperties><Property Name="Netbios Name" Value="CLIENT01" /><Property '
                         'Name="FQ Name" Value="CLIENT01.corp.contoso.example" /><Property Name="Locale ID" '
                         'Value="2057" /><Property Name="InternetFlag" Value="1" /></DiscoveryProperties></Data>')
    assert parse_registration_request(text) == signed


def test_signature_is_reversed_upper_hex_pkcs1_sha256_of_the_utf16_data(signed: RegistrationRequest,
                                                                         identity: SigningIdentity) -> None:
    assert signed.signature == signed.signature.upper()
    expected = identity.key.sign(registration_data(signed).encode("utf-16-le"), PKCS1v15(), hashes.SHA256())
    assert bytes.fromhex(signed.signature) == expected[::-1]
    text = build_registration_request(signed)
    verify_signature(text, parse_registration_request(text))


def test_a_request_written_like_sccmsecrets_parses_and_verifies(identity: SigningIdentity) -> None:
    # The <Data> as SCCMSecrets' template writes it, line breaks included, signed as sent.
    data = ('<Data HashAlgorithm="1.2.840.113549.1.1.11" SMSID="" RequestType="Registration" '
            'TimeStamp="2026-11-02T08:00:00Z">\n<AgentInformation AgentIdentity="CCMSetup.exe" '
            'AgentVersion="5.00.8325.0000" AgentType="0" />\n<Certificates><Encryption Encoding="HexBinary" '
            f'KeyType="1">{identity.certificate_hex}</Encryption><Signing Encoding="HexBinary" KeyType="1">'
            f'{identity.certificate_hex}</Signing></Certificates>\n<DiscoveryProperties><Property '
            'Name="Netbios Name" Value="WS01" />\n<Property Name="FQ Name" Value="ws01.contoso.example" />\n'
            '<Property Name="Locale ID" Value="2057" />\n<Property Name="InternetFlag" Value="0" />\n'
            "</DiscoveryProperties></Data>")
    signature = identity.key.sign(data.encode("utf-16-le"), PKCS1v15(), hashes.SHA256())[::-1].hex().upper()
    text = f"<ClientRegistrationRequest>{data}<Signature><SignatureValue>{signature}</SignatureValue>" \
           "</Signature></ClientRegistrationRequest>"
    request = parse_registration_request(text)
    assert (request.netbios_name, request.fq_name, request.internet, request.agent_version) == (
        "WS01", "ws01.contoso.example", False, "5.00.8325.0000")
    verify_signature(text, request)


def test_reply_has_the_chosen_shape_and_round_trips() -> None:
    text = build_registration_reply(RegistrationReply(SMSID))
    assert text == f'<ClientRegistrationResponse SMSID="{SMSID}" RegistrationStatus="Approved" ApprovalStatus="1" />'
    assert parse_registration_reply(text) == RegistrationReply(SMSID)
    pending = build_registration_reply(RegistrationReply(SMSID, approved=False))
    assert 'RegistrationStatus="Pending" ApprovalStatus="0"' in pending
    assert parse_registration_reply(pending) == RegistrationReply(SMSID, approved=False)


def test_a_reply_with_only_the_documented_smsid_is_enough() -> None:
    assert parse_registration_reply(f'<AnyRoot SMSID="{SMSID}"/>') == RegistrationReply(SMSID, approved=True)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("<ClientRegistrationRequest>", "<ClientRegistrationRequest", r"^ClientRegistrationRequest: not well-formed XML"),
    ('<Property Name="Netbios Name" Value="CLIENT01" />', "",
     r"^ClientRegistrationRequest: missing property 'Netbios Name': the site registers a client by its name$"),
    ('Value="CLIENT01"', 'Value=" "', r"missing property 'Netbios Name'"),
    ('Name="InternetFlag" Value="1"', 'Name="InternetFlag" Value="yes"',
     r"^ClientRegistrationRequest: property InternetFlag must be \"0\" or \"1\", got 'yes'$"),
    ('Value="2057"', 'Value="en-GB"', r"^ClientRegistrationRequest: property Locale ID is not an integer: 'en-GB'$"),
    ('HashAlgorithm="1.2.840.113549.1.1.11"', 'HashAlgorithm="1.2.840.113549.1.1.5"',
     r"^ClientRegistrationRequest: unsupported <Data HashAlgorithm> '1.2.840.113549.1.1.5'; expected "),
    (' TimeStamp="2026-11-02T08:00:00Z"', "", r"^ClientRegistrationRequest: missing <Data TimeStamp>$"),
    ('AgentType="0"', 'AgentType="zero"', r"<AgentInformation AgentType> is not an integer: 'zero'$"),
    ("<Signature>", "<Sig>", r"^ClientRegistrationRequest: not well-formed XML"),
    ("</Data>", "</Data><Extra/>", None),
], ids=["not-xml", "no-netbios-name", "blank-netbios-name", "internet-flag", "locale", "sha1", "no-timestamp",
        "agent-type", "broken-signature-tag", "extra-element-is-fine"])
def test_request_errors(signed: RegistrationRequest, old: str, new: str, message: str | None) -> None:
    text = build_registration_request(signed)
    assert old in text
    if message is None:
        parse_registration_request(text.replace(old, new, 1))
        return
    with pytest.raises(ProtocolError, match=message):
        parse_registration_request(text.replace(old, new, 1))


@pytest.mark.parametrize(("text", "message"), [
    ("<RequestAssignments/>", r"^ClientRegistrationRequest: root element is <RequestAssignments>"),
    ("<ClientRegistrationRequest/>", r"^ClientRegistrationRequest: missing <Data>$"),
])
def test_request_without_its_parts(text: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_registration_request(text)


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r.replace('Value="CLIENT01"', 'Value="CLIENT02"'), r"signature does not match <Data>"),
    (lambda r: r.replace("<SignatureValue>", "<SignatureValue>zz"), r"<SignatureValue> is not hexadecimal$"),
    (lambda r: r.replace('KeyType="1">', 'KeyType="1">00', 2), r"<Signing> is not a hex-encoded DER X.509"),
], ids=["tampered-data", "signature-not-hex", "certificate-not-der"])
def test_signature_errors(signed: RegistrationRequest, change: Callable[[str], str], message: str) -> None:
    text = change(build_registration_request(signed))
    with pytest.raises(ProtocolError, match=message):
        verify_signature(text, parse_registration_request(text))


@pytest.mark.parametrize(("text", "message"), [
    ("<ClientRegistrationResponse/>", r"^ClientRegistrationResponse: missing <ClientRegistrationResponse SMSID>$"),
    ('<ClientRegistrationResponse SMSID="CLIENT01"/>', r"SMSID is not of the form GUID:<guid>: 'CLIENT01'$"),
    (f'<ClientRegistrationResponse SMSID="{SMSID}" ApprovalStatus="maybe"/>', r"ApprovalStatus must be"),
    ("<ClientRegistrationResponse", r"^ClientRegistrationResponse: not well-formed XML"),
])
def test_reply_errors(text: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_registration_reply(text)

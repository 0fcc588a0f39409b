"""Client registration, a ``ClientRegistrationRequest`` to ``MP_ClientRegistration``.

The request follows SCCMSecrets (github.com/synacktiv/SCCMSecrets): a ``<Data>`` element (agent, self-signed
certificates, discovery properties) and an RSA PKCS#1 v1.5 SHA-256 signature of that element's UTF-16LE text,
byte-reversed and written in upper-case hex. The reply's root carries ``SMSID="GUID:…"``; [INFERENCE] its root element
(``ClientRegistrationResponse``) and its ``RegistrationStatus`` / ``ApprovalStatus`` attributes are not
documented, so the parser reads only the SMSID and, when present, the approval.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, replace
from xml.etree.ElementTree import Element

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from harness.protocol.errors import (
    ProtocolError,
    attr,
    bool01,
    child,
    expect_root,
    parse_xml,
    serialize,
    sub,
    text_of,
    to_bool01,
    to_int,
)

REQUEST = "ClientRegistrationRequest"
REPLY = "ClientRegistrationResponse"
SHA256_RSA = "1.2.840.113549.1.1.11"  # the only HashAlgorithm this harness signs and verifies with
AGENT_IDENTITY = "CCMSetup.exe"
AGENT_VERSION = "5.00.8913.1000"  # 1910's client; SCCMSecrets sends 5.00.8325.0000
LOCALE_EN_GB = 2057
# The discovery properties a request carries, in the order SCCMSecrets writes them.
NETBIOS, FQ_NAME, LOCALE, INTERNET = "Netbios Name", "FQ Name", "Locale ID", "InternetFlag"
_SMSID = re.compile(r"GUID:[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
# The signed text as sent; ``<`` cannot occur unescaped inside an attribute value or text, so the first
# closing tag after the opening one ends the element.
_DATA = re.compile(r"<Data[\s/>].*?</Data>", re.DOTALL)


@dataclass(frozen=True)
class RegistrationRequest:
    netbios_name: str
    fq_name: str
    internet: bool  # the InternetFlag discovery property: the client registers from the internet
    timestamp: str  # e.g. 2026-11-02T08:00:00Z
    signing_certificate: str  # DER, upper-case hex: the client's self-signed signing certificate
    encryption_certificate: str = ""  # DER, upper-case hex; SCCMSecrets sends the signing certificate again
    signature: str = ""  # see sign_request
    smsid: str = ""  # empty on a first registration
    request_type: str = "Registration"
    agent_identity: str = AGENT_IDENTITY
    agent_version: str = AGENT_VERSION
    agent_type: int = 0
    locale_id: int = LOCALE_EN_GB


@dataclass(frozen=True)
class RegistrationReply:
    smsid: str  # GUID:<guid>, the client ID the site assigned
    approved: bool = True


def registration_data(request: RegistrationRequest) -> str:
    """The ``<Data>`` element, the text the signature covers."""
    return serialize(_data_element(request))


def _data_element(r: RegistrationRequest) -> Element:
    data = Element("Data", HashAlgorithm=SHA256_RSA, SMSID=r.smsid, RequestType=r.request_type,
                   TimeStamp=r.timestamp)
    sub(data, "AgentInformation", AgentIdentity=r.agent_identity, AgentVersion=r.agent_version,
        AgentType=str(r.agent_type))
    certificates = sub(data, "Certificates")
    sub(certificates, "Encryption", r.encryption_certificate, Encoding="HexBinary", KeyType="1")
    sub(certificates, "Signing", r.signing_certificate, Encoding="HexBinary", KeyType="1")
    properties = sub(data, "DiscoveryProperties")
    for name, value in ((NETBIOS, r.netbios_name), (FQ_NAME, r.fq_name), (LOCALE, str(r.locale_id)),
                        (INTERNET, bool01(r.internet))):
        sub(properties, "Property", Name=name, Value=value)
    return data


def build_registration_request(request: RegistrationRequest) -> str:
    root = Element(REQUEST)
    root.append(_data_element(request))
    sub(sub(root, "Signature"), "SignatureValue", request.signature)
    return serialize(root)


def parse_registration_request(xml: str) -> RegistrationRequest:
    root = parse_xml(xml, REQUEST)
    expect_root(root, REQUEST)
    data = child(root, "Data", REQUEST)
    _check_hash_algorithm(attr(data, "HashAlgorithm", REQUEST))
    agent = child(data, "AgentInformation", REQUEST)
    properties = _properties(child(data, "DiscoveryProperties", REQUEST))
    encryption = data.find("Certificates/Encryption")
    return RegistrationRequest(
        netbios_name=_netbios_name(properties),
        fq_name=properties.get(FQ_NAME, ""),
        internet=to_bool01(properties.get(INTERNET, "0"), REQUEST, f"property {INTERNET}"),
        timestamp=attr(data, "TimeStamp", REQUEST),
        signing_certificate=text_of(child(data, "Certificates/Signing", REQUEST)),
        encryption_certificate="" if encryption is None else text_of(encryption),
        signature=text_of(child(root, "Signature/SignatureValue", REQUEST)),
        smsid=attr(data, "SMSID", REQUEST),
        request_type=attr(data, "RequestType", REQUEST),
        agent_identity=attr(agent, "AgentIdentity", REQUEST),
        agent_version=attr(agent, "AgentVersion", REQUEST),
        agent_type=to_int(attr(agent, "AgentType", REQUEST), REQUEST, "<AgentInformation AgentType>"),
        locale_id=to_int(properties.get(LOCALE, str(LOCALE_EN_GB)), REQUEST, f"property {LOCALE}"),
    )


def _check_hash_algorithm(oid: str) -> None:
    if oid != SHA256_RSA:
        raise ProtocolError(f"{REQUEST}: unsupported <Data HashAlgorithm> {oid!r}; expected {SHA256_RSA} "
                            "(sha256RSA)")


def _properties(parent: Element) -> dict[str, str]:
    return {attr(p, "Name", REQUEST): attr(p, "Value", REQUEST) for p in parent.findall("Property")}


def _netbios_name(properties: dict[str, str]) -> str:
    name = properties.get(NETBIOS, "")
    if not name.strip():
        raise ProtocolError(f"{REQUEST}: missing property {NETBIOS!r}: the site registers a client by its name")
    return name


# -- signature ---------------------------------------------------------------------------------------


def sign_request(request: RegistrationRequest, key: RSAPrivateKey) -> RegistrationRequest:
    """The request with its signature over ``registration_data(request)`` (as SCCMSecrets signs it)."""
    signed = key.sign(registration_data(request).encode("utf-16-le"), PKCS1v15(), hashes.SHA256())
    return replace(request, signature=signed[::-1].hex().upper())


def verify_signature(xml: str, request: RegistrationRequest) -> None:
    """Checks the signature of a parsed request against its ``<Data>`` as sent and its signing certificate."""
    found = _DATA.search(xml)
    if found is None:
        raise ProtocolError(f"{REQUEST}: missing <Data>")
    key = _public_key(request.signing_certificate)
    try:
        signature = bytes.fromhex(request.signature)[::-1]
        key.verify(signature, found.group().encode("utf-16-le", "surrogatepass"), PKCS1v15(), hashes.SHA256())
    except ValueError:
        raise ProtocolError(f"{REQUEST}: <SignatureValue> is not hexadecimal") from None
    except InvalidSignature:
        raise ProtocolError(f"{REQUEST}: the signature does not match <Data> and the signing certificate") from None


def _public_key(certificate_hex: str) -> RSAPublicKey:
    try:
        key = x509.load_der_x509_certificate(binascii.unhexlify(certificate_hex.strip())).public_key()
    except (ValueError, UnsupportedAlgorithm):  # binascii.Error is a ValueError
        raise ProtocolError(f"{REQUEST}: <Signing> is not a hex-encoded DER X.509 certificate") from None
    if not isinstance(key, RSAPublicKey):
        raise ProtocolError(f"{REQUEST}: the signing certificate's key is not an RSA key")
    return key


# -- reply -------------------------------------------------------------------------------------------


def build_registration_reply(reply: RegistrationReply) -> str:
    root = Element(REPLY, SMSID=reply.smsid, RegistrationStatus="Approved" if reply.approved else "Pending",
                   ApprovalStatus=bool01(reply.approved))
    return serialize(root)


def parse_registration_reply(xml: str) -> RegistrationReply:
    """Takes any root with an SMSID: only that attribute of the real reply is documented."""
    root = parse_xml(xml, REPLY)
    smsid = attr(root, "SMSID", REPLY)
    if not _SMSID.fullmatch(smsid):
        raise ProtocolError(f"{REPLY}: SMSID is not of the form GUID:<guid>: {smsid!r}")
    approval = root.get("ApprovalStatus")
    return RegistrationReply(smsid, approved=approval is None or to_bool01(approval, REPLY, "ApprovalStatus"))


__all__ = [
    "AGENT_VERSION",
    "SHA256_RSA",
    "RegistrationReply",
    "RegistrationRequest",
    "build_registration_reply",
    "build_registration_request",
    "parse_registration_reply",
    "parse_registration_request",
    "registration_data",
    "sign_request",
    "verify_signature",
]

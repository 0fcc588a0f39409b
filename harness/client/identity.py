"""The client's self-signed signing certificate, which signs its registration request (spec §6.1 [S50])."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.x509.oid import NameOID

# Extended key usages [S50] gives its self-signed client certificate (SMS signing and the SMS root).
_SMS_USAGES = (x509.ObjectIdentifier("1.3.6.1.4.1.311.101.2"), x509.ObjectIdentifier("1.3.6.1.4.1.311.101"))
VALIDITY = timedelta(days=365)


@dataclass(frozen=True)
class SigningIdentity:
    key: RSAPrivateKey
    certificate_hex: str  # DER, upper-case hex, as <Certificates><Signing> carries it


def new_signing_identity(computer_name: str, now: datetime) -> SigningIdentity:
    """[INFERENCE] the subject: [S50] uses "ConfigMgr Client"; the harness names the computer, which makes
    registration requests easy to tell apart."""
    key = _key_pair(computer_name)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, computer_name)])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1)).not_valid_after(now + VALIDITY)
                   .add_extension(x509.ExtendedKeyUsage(list(_SMS_USAGES)), critical=False)
                   .sign(key, hashes.SHA256()))
    return SigningIdentity(key, certificate.public_bytes(serialization.Encoding.DER).hex().upper())


@functools.cache
def _key_pair(computer_name: str) -> RSAPrivateKey:
    """A computer keeps its key pair for the life of the process, as a client keeps its signing key until it is
    reinstalled; the certificate around it is new each time. Generating a 2048-bit RSA key costs 20-150 ms of
    CPU, and a suite creates the same few computer names in hundreds of scenarios."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


__all__ = ["SigningIdentity", "new_signing_identity"]

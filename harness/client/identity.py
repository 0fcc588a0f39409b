"""The client's self-signed signing certificate, which signs its registration request (SCCMSecrets,
github.com/synacktiv/SCCMSecrets)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.x509.oid import NameOID

# Extended key usages SCCMSecrets gives its self-signed client certificate (SMS signing and the SMS root).
_SMS_USAGES = (x509.ObjectIdentifier("1.3.6.1.4.1.311.101.2"), x509.ObjectIdentifier("1.3.6.1.4.1.311.101"))
VALIDITY = timedelta(days=365)


@dataclass(frozen=True)
class SigningIdentity:
    key: RSAPrivateKey
    certificate_hex: str  # DER, upper-case hex, as <Certificates><Signing> carries it


def new_signing_identity(computer_name: str, now: datetime, key: RSAPrivateKey | None = None) -> SigningIdentity:
    """A certificate around `key` (a new key pair if None). [INFERENCE] the subject: SCCMSecrets uses "ConfigMgr
    Client"; the harness names the computer, which makes registration requests easy to tell apart."""
    key = key or _new_key_pair()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, computer_name)])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1)).not_valid_after(now + VALIDITY)
                   .add_extension(x509.ExtendedKeyUsage(list(_SMS_USAGES)), critical=False)
                   .sign(key, hashes.SHA256()))
    return SigningIdentity(key, certificate.public_bytes(serialization.Encoding.DER).hex().upper())


class SigningKeys:
    """The key pairs of one world's computers: each computer keeps its own while the world lasts, as a client
    keeps its signing key until it is reinstalled, and no two computers of a world share one. When the world is
    wiped (`release_all`) its keys serve the next world's computers.

    Why a pool: generating a 2048-bit RSA key costs 20-150 ms of CPU. A suite's scenarios create a few dozen
    computer names, hundreds of times over, but never more than a few dozen at once; one key per name was the
    agent's largest cost (a tenth of the acceptance suite's CPU)."""

    def __init__(self) -> None:
        self._held: dict[str, RSAPrivateKey] = {}
        self._spare: list[RSAPrivateKey] = []
        self._lock = threading.Lock()

    def key_for(self, computer_name: str) -> RSAPrivateKey:
        with self._lock:
            key = self._held.get(computer_name)
            if key is None:
                key = self._held[computer_name] = self._spare.pop() if self._spare else _new_key_pair()
            return key

    def release_all(self) -> None:
        with self._lock:
            self._spare += self._held.values()
            self._held.clear()


def _new_key_pair() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


__all__ = ["SigningIdentity", "SigningKeys", "new_signing_identity"]

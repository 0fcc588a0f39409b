"""A client's self-signed signing certificate: a computer keeps its key pair for the process's life (as a client
keeps its signing key until reinstalled), each certificate around it is new, and two computers never share one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from harness.client.identity import new_signing_identity

NOW = datetime(2026, 11, 2, 8, tzinfo=UTC)


def _public(identity_hex: str) -> bytes:
    certificate = x509.load_der_x509_certificate(bytes.fromhex(identity_hex))
    return certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


def test_a_computer_keeps_its_key_pair_and_gets_a_new_certificate() -> None:
    first = new_signing_identity("CLIENT71", NOW)
    again = new_signing_identity("CLIENT71", NOW + timedelta(hours=1))
    assert _public(first.certificate_hex) == _public(again.certificate_hex)
    assert first.certificate_hex != again.certificate_hex  # another serial number and validity


def test_two_computers_never_share_a_key_pair() -> None:
    one, other = new_signing_identity("CLIENT72", NOW), new_signing_identity("CLIENT73", NOW)
    assert _public(one.certificate_hex) != _public(other.certificate_hex)

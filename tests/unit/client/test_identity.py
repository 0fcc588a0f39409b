"""A client's self-signed signing certificate: a computer keeps its key pair while its world lasts (as a client
keeps its signing key until reinstalled), each certificate around it is new, and two computers of a world never
share one; a wiped world's keys serve the next world's computers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from harness.client.identity import SigningKeys, new_signing_identity

NOW = datetime(2026, 11, 2, 8, tzinfo=UTC)


def _public(identity_hex: str) -> bytes:
    certificate = x509.load_der_x509_certificate(bytes.fromhex(identity_hex))
    return certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


def test_a_computer_keeps_its_key_pair_and_gets_a_new_certificate() -> None:
    keys = SigningKeys()
    first = new_signing_identity("CLIENT71", NOW, keys.key_for("CLIENT71"))
    again = new_signing_identity("CLIENT71", NOW + timedelta(hours=1), keys.key_for("CLIENT71"))
    assert _public(first.certificate_hex) == _public(again.certificate_hex)
    assert first.certificate_hex != again.certificate_hex  # another serial number and validity


def test_two_computers_of_a_world_never_share_a_key_pair() -> None:
    keys = SigningKeys()
    one, other = keys.key_for("CLIENT72"), keys.key_for("CLIENT73")
    assert one is not other
    assert _public(new_signing_identity("CLIENT72", NOW, one).certificate_hex) != \
        _public(new_signing_identity("CLIENT73", NOW, other).certificate_hex)


def test_the_next_world_reuses_the_keys_and_still_gives_each_computer_its_own() -> None:
    keys = SigningKeys()
    before = {keys.key_for(name) for name in ("CLIENT74", "CLIENT75")}
    keys.release_all()
    after = [keys.key_for(name) for name in ("WAVE01", "WAVE02", "WAVE03")]
    assert before < set(after) and len(set(after)) == 3  # two reused, one new: none shared


def test_a_computer_without_a_pool_gets_a_key_of_its_own() -> None:
    assert _public(new_signing_identity("CLIENT76", NOW).certificate_hex) != \
        _public(new_signing_identity("CLIENT76", NOW).certificate_hex)

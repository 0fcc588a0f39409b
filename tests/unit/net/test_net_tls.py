import ipaddress
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness.net.tls import TestPKI, client_ssl_context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI.create(tmp_path_factory.mktemp("pki"))


def _leaf(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates(path.read_bytes())[0]


def _alt_names(cert: x509.Certificate) -> list[object]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [*san.get_values_for_type(x509.DNSName), *san.get_values_for_type(x509.IPAddress)]


def _usages(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_ca_certificate_is_written_with_its_name(tmp_path: Path) -> None:
    pki = TestPKI.create(tmp_path / "new", ca_name="Contoso Test Root")

    ca = _leaf(pki.ca_cert_path)

    assert pki.ca_cert_path == tmp_path / "new" / "ca.pem"
    assert ca.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "Contoso Test Root"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_server_certificate_covers_its_names_and_files_are_named_after_the_service(pki: TestPKI) -> None:
    cert = pki.issue_server_cert("cmg", ["cmg.contoso.example", "127.0.0.1"])

    leaf = _leaf(cert.cert_path)

    assert (cert.cert_path.name, cert.key_path.name) == ("cmg.pem", "cmg.key")
    assert _alt_names(leaf) == ["cmg.contoso.example", ipaddress.ip_address("127.0.0.1")]
    assert ExtendedKeyUsageOID.SERVER_AUTH in _usages(leaf)
    assert stat.S_IMODE(cert.key_path.stat().st_mode) == 0o600


def test_server_certificate_and_key_load_into_a_server_context(pki: TestPKI) -> None:
    cert = pki.issue_server_cert("mp", ["mp.contoso.example"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)

    context.load_cert_chain(cert.cert_path, cert.key_path)


def test_server_certificate_needs_a_name(pki: TestPKI) -> None:
    with pytest.raises(ValueError, match="at least one name"):
        pki.issue_server_cert("nameless", [])


@pytest.mark.parametrize(
    "identity", ["client01.contoso.example", "GUID:1B4E28BA-2FA1-11D2-883F-0016D3CCA427"]
)
def test_client_certificate_is_for_client_authentication(pki: TestPKI, identity: str) -> None:
    cert = pki.issue_client_cert(identity)

    leaf = _leaf(cert.cert_path)

    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == identity
    assert ExtendedKeyUsageOID.CLIENT_AUTH in _usages(leaf)
    assert cert.cert_path.parent == pki.directory
    assert cert.cert_path.name.startswith("client-")


def test_client_context_trusts_the_test_ca_only_and_checks_names(pki: TestPKI) -> None:
    for context in (pki.client_ssl_context(), client_ssl_context(pki.ca_cert_path)):
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname
        assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
        assert len(context.get_ca_certs()) == 1

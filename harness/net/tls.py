"""A throw-away certificate authority for the test environment, and the client TLS settings that trust it.

Every emulated service gets a certificate for its realistic names (and 127.0.0.1) from one test CA, so clients
check names exactly as they would against a real site. Nothing here touches the system trust store.
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import trustme

_SAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"^(\*\.)?({_LABEL}\.)*{_LABEL}$")


@dataclass(frozen=True)
class ServerCert:
    """PEM files for one TLS endpoint: `cert_path` has the leaf then any intermediates, `key_path` its key."""

    cert_path: Path
    key_path: Path


class TestPKI:
    """A test CA (made with trustme) whose certificates are written as PEM files under one directory.

    The CA key lives only in memory: make the PKI once per environment, in the process that starts services.
    """

    __test__ = False  # a library class, not a pytest test class

    def __init__(self, ca: trustme.CA, directory: Path) -> None:
        self._ca = ca
        self.directory = directory
        self.ca_cert_path = directory / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_cert_path))

    @classmethod
    def create(cls, directory: Path, *, ca_name: str = "CMG Harness Test Root CA") -> TestPKI:
        directory.mkdir(parents=True, exist_ok=True)
        return cls(trustme.CA(organization_name="CMG Harness", organization_unit_name=ca_name), directory)

    def issue_server_cert(self, service: str, names: Sequence[str]) -> ServerCert:
        """A certificate for `names` (DNS names, wildcards, IP strings), saved as `<service>.pem`, `.key`."""
        if not names:
            raise ValueError(f"a server certificate for {service!r} needs at least one name")
        # RSA, not trustme's default ECDSA: an ECDSA signature's length varies with its value, so the server's
        # handshake flight would differ by a byte or two from one connection to the next, and through a shaped
        # link (where a physical byte stands for `scale` model bytes) so would the timeline. RSA's is fixed.
        leaf = self._ca.issue_cert(*names, common_name=names[0], key_type=trustme.KeyType.RSA)
        return self._write(_safe_file_stem(service), leaf)

    def issue_client_cert(self, identity: str) -> ServerCert:
        """A client-authentication certificate whose subject CN is `identity`, saved as `client-<identity>`.

        The identity also goes into the subjectAltName when it is a DNS name, IP address or e-mail address.
        """
        san = (identity,) if _fits_subject_alt_name(identity) else ()
        leaf = self._ca.issue_cert(*san, common_name=identity)
        return self._write("client-" + _safe_file_stem(identity), leaf)

    def client_ssl_context(self) -> ssl.SSLContext:
        return client_ssl_context(self.ca_cert_path)

    def enrollment_ca(self, stem: str = "enrollment-ca") -> ServerCert:
        """A child CA, saved with its key, from which another process issues client certificates.

        Stands for the enterprise CA that enrolls clients for PKI client authentication; the root's
        key never leaves this process.
        """
        child = self._ca.create_child_ca()
        paths = ServerCert(self.directory / f"{stem}.pem", self.directory / f"{stem}.key")
        paths.cert_path.write_bytes(child.cert_pem.bytes())
        fd = os.open(paths.key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as key_file:
            key_file.write(child.private_key_pem.bytes())
        return paths


    def _write(self, stem: str, leaf: trustme.LeafCert) -> ServerCert:
        cert = ServerCert(self.directory / f"{stem}.pem", self.directory / f"{stem}.key")
        cert.cert_path.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        fd = os.open(cert.key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as key_file:
            key_file.write(leaf.private_key_pem.bytes())
        return cert


class ClientCertIssuer:
    """Issues client-authentication certificates (subject CN = the client's name) from an enrollment CA."""

    def __init__(self, issuer: ServerCert, directory: Path) -> None:
        self._ca = trustme.CA.from_pem(issuer.cert_path.read_bytes(), issuer.key_path.read_bytes())
        self._chain = issuer.cert_path.read_bytes()
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._issued: dict[str, ServerCert] = {}
        self._lock = threading.Lock()

    def issue(self, identity: str) -> ServerCert:
        """The identity's certificate, issued once: a computer enrolled again gets the one it had. Each issue
        makes a 2048-bit RSA key (20-150 ms of CPU), and a suite creates the same few computer names in hundreds
        of scenarios; measured in the agent, it was 30 % of its CPU."""
        with self._lock:
            if identity not in self._issued or not self._issued[identity].key_path.exists():
                self._issued[identity] = self._issue(identity)
            return self._issued[identity]

    def _issue(self, identity: str) -> ServerCert:
        leaf = self._ca.issue_cert(common_name=identity)
        stem = self.directory / ("client-" + _safe_file_stem(identity))
        cert = ServerCert(stem.with_suffix(".pem"), stem.with_suffix(".key"))
        # The chain carries the enrollment CA so a server that trusts only the root can verify it.
        cert.cert_path.write_bytes(leaf.cert_chain_pems[0].bytes() + self._chain)
        fd = os.open(cert.key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as key_file:
            key_file.write(leaf.private_key_pem.bytes())
        return cert


def client_ssl_context(ca_cert_path: Path, *, client_cert: ServerCert | None = None) -> ssl.SSLContext:
    """A context that trusts only the test CA, checks host names and speaks TLS 1.2 or later."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_cert_path))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if client_cert is not None:
        context.load_cert_chain(certfile=str(client_cert.cert_path), keyfile=str(client_cert.key_path))
    return context


def _safe_file_stem(name: str) -> str:
    stem = _SAFE_FILE_CHARS.sub("_", name).strip("._")
    if not stem:
        raise ValueError(f"cannot make a file name from {name!r}")
    return stem


def _fits_subject_alt_name(identity: str) -> bool:
    try:
        ipaddress.ip_address(identity)
    except ValueError:
        return "@" in identity or bool(_DNS_NAME.match(identity))
    return True

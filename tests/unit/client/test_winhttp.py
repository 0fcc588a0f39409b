"""WinHTTP's code for a TLS failure: a connection closed mid-handshake is the connection, not the certificate."""

from __future__ import annotations

import ssl

import httpx
import pytest

from harness.client.winhttp import transport_hresult
from harness.model.errors import HResult


def raised_from(cause: ssl.SSLError) -> httpx.ConnectError:
    """An httpx error raised from a TLS error, as httpx raises them during a handshake."""
    try:
        raise httpx.ConnectError(str(cause)) from cause
    except httpx.ConnectError as error:
        return error


@pytest.mark.parametrize(("cause", "code"), [
    # OpenSSL words an abrupt close differently from version to version (seen: 3.0.11 and 3.0.17).
    (ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), HResult.CONNECTION_ERROR),
    (ssl.SSLZeroReturnError(6, "TLS/SSL connection has been closed (EOF)"), HResult.CONNECTION_ERROR),
    (ssl.SSLCertVerificationError(1, "certificate verify failed"), HResult.SECURE_FAILURE),
    (ssl.SSLError(1, "wrong version number"), HResult.SECURE_FAILURE),
], ids=["eof", "closed", "certificate", "protocol"])
def test_tls_failures(cause: ssl.SSLError, code: HResult) -> None:
    assert transport_hresult(raised_from(cause)) == code

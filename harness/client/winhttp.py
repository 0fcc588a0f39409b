"""The codes WinHTTP reports for a request that got no complete answer, shared by messaging and downloads."""

from __future__ import annotations

import ssl

import httpx

from harness.model.errors import HResult


def ssl_cause(error: BaseException) -> ssl.SSLError | None:
    """The TLS error under an httpx error, if one caused it."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


def transport_hresult(error: httpx.HTTPError) -> int:
    """WinHTTP's code for a request that got no complete answer ([INFERENCE] but for 0x80072EE7, spec §2.8)."""
    if "0x80072EE7" in str(error):
        return HResult.NAME_NOT_RESOLVED
    if isinstance(error, httpx.TimeoutException):
        return HResult.WINHTTP_TIMEOUT
    cause = ssl_cause(error)
    if isinstance(cause, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        # Closed in the middle of the handshake: the connection, not the certificate. OpenSSL reports it as
        # either, depending on its version and on how the peer closed.
        return HResult.CONNECTION_ERROR
    if cause is not None:
        return HResult.SECURE_FAILURE
    if isinstance(error, httpx.ConnectError):
        return HResult.CANNOT_CONNECT
    if isinstance(error, (httpx.NetworkError, httpx.RemoteProtocolError)):
        return HResult.CONNECTION_ERROR  # reset, or closed before the answer was complete
    return HResult.E_FAIL

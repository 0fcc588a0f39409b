"""The codes WinHTTP reports for a request that got no complete answer, shared by messaging and downloads."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from http import HTTPStatus

import httpx

from harness.model.errors import HResult
from harness.net.handshake import HandshakeFailed

# An abrupt close in the middle of the handshake: the connection, not the certificate. OpenSSL reports it as either,
# depending on its version and on how the peer closed.
_CLOSED_IN_HANDSHAKE = (ssl.SSLEOFError, ssl.SSLZeroReturnError)


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error and every error under it, outermost first."""
    cause: BaseException | None = error
    while cause is not None:
        yield cause
        cause = cause.__cause__ or cause.__context__


def ssl_cause(error: BaseException) -> ssl.SSLError | None:
    """The TLS error under an httpx error, if one caused it."""
    return next((c for c in causes(error) if isinstance(c, ssl.SSLError)), None)


def connected(error: BaseException) -> bool:
    """Whether the TCP connection was made before the failure (the network backend marks a failed handshake)."""
    return any(isinstance(c, HandshakeFailed) for c in causes(error))


def transport_hresult(error: httpx.HTTPError) -> int:
    """WinHTTP's code for a request that got no complete answer ([INFERENCE] but for 0x80072EE7, B-12).

    A TLS failure that is the peer's certificate or protocol is 0x80072F8F; otherwise a connect error is "cannot
    connect" (0x80072EFD) only when no TCP connection was made: a reset or close in or after the handshake is the
    connection "terminated abnormally" (0x80072EFE), as for any reset or early close later on.
    """
    if "0x80072EE7" in str(error):
        return HResult.NAME_NOT_RESOLVED
    if isinstance(error, httpx.TimeoutException):
        return HResult.WINHTTP_TIMEOUT
    cause = ssl_cause(error)
    if cause is not None and not isinstance(cause, _CLOSED_IN_HANDSHAKE):
        return HResult.SECURE_FAILURE
    if isinstance(error, httpx.ConnectError) and cause is None and not connected(error):
        return HResult.CANNOT_CONNECT
    if isinstance(error, (httpx.NetworkError, httpx.RemoteProtocolError)):
        return HResult.CONNECTION_ERROR  # reset, or closed in the handshake or before the answer was complete
    return HResult.E_FAIL


def certificate_name_invalid(error: httpx.HTTPError) -> bool:
    """The server's certificate does not carry the name asked for (WINHTTP_CALLBACK_STATUS_FLAG_CERT_CN_INVALID)."""
    cause = ssl_cause(error)
    # "Hostname mismatch, certificate is not valid for '…'"
    return isinstance(cause, ssl.SSLCertVerificationError) and "match" in str(cause).lower()


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"

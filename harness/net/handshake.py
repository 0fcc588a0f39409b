"""Telling a TCP connect that failed from a TLS handshake that failed on a connection TCP made.

httpcore raises ConnectError for both (it wraps the handshake in its connect), but WinHTTP does not report them
alike: no connection is ERROR_WINHTTP_CANNOT_CONNECT (0x80072EFD), a connection reset or closed in or after the
handshake is ERROR_WINHTTP_CONNECTION_ERROR (0x80072EFE). A backend that knows which call failed says so with
`HandshakeFailed`, so the client's codes (`harness/client/winhttp.py`) never read it from a message.
"""

from __future__ import annotations

import ssl
import typing
from collections.abc import Iterable

import httpcore


class HandshakeFailed(httpcore.ConnectError):
    """The TCP connection was made; the TLS handshake on it failed (the cause says how)."""


class HandshakeMarking(httpcore.NetworkBackend):
    """httpcore's own sync backend, its TLS handshakes failing with `HandshakeFailed` (on the real clock; on the
    virtual one `ClockedBackend` marks them itself)."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        return _MarkedStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        return self._inner.connect_unix_socket(path, timeout, socket_options)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _MarkedStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        try:
            return self._inner.start_tls(ssl_context, server_hostname, timeout)
        except httpcore.ConnectTimeout:
            raise  # a timeout is a timeout (0x80072EE2), connected or not
        except httpcore.ConnectError as error:
            raise HandshakeFailed(str(error)) from error

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


__all__ = ["HandshakeFailed", "HandshakeMarking"]

"""HRESULTs and ConfigMgr error codes the harness surfaces (B-49)."""

from __future__ import annotations

from enum import IntEnum

# BITS reports an HTTP error status as BG_E_HTTP_ERROR_<status>: this facility and code space, the status
# in the low bits (0x80190191 = 401, B-49).
_BG_E_HTTP_ERROR = 0x80190000


class HResult(IntEnum):
    S_OK = 0
    E_FAIL = 0x80004005
    FILE_NOT_FOUND = 0x80070002
    NO_CONTENT_LOCATION = 0x80040102  # TS location request returned no usable location
    HASH_MISMATCH = 0x80091007  # CRYPT_E_HASH_VALUE
    ITEM_NOT_FOUND = 0x87D00215
    CONTENT_NOT_FOUND = 0x87D00607
    PROGRAM_LOCATIONS_UNREACHABLE = 0x87D01107
    CACHE_FULL = 0x87D01201  # not enough free space in the client cache
    CACHE_TOO_SMALL = 0x87D01202  # the client cache is smaller than the content
    MANIFEST_ERROR = 0x87D0027E
    HTTP_401 = 0x80190191
    NAME_NOT_RESOLVED = 0x80072EE7
    # ERROR_WINHTTP_SECURE_FAILURE (Windows SDK): the documented CERT_CN_INVALID case (B-09);
    # [INFERENCE] that it is the code the download ends with.
    SECURE_FAILURE = 0x80072F8F
    TIMEOUT = 0x800705B4  # ERROR_TIMEOUT: the console's "Download timeout" for a stuck download
    # WinHTTP's own errors as HRESULTs (Windows SDK winhttp.h, 12000 + n): [INFERENCE] that the download
    # ends with them when the connection fails, is cut, or goes silent.
    WINHTTP_TIMEOUT = 0x80072EE2  # ERROR_WINHTTP_TIMEOUT (12002)
    CANNOT_CONNECT = 0x80072EFD  # ERROR_WINHTTP_CANNOT_CONNECT (12029)
    CONNECTION_ERROR = 0x80072EFE  # ERROR_WINHTTP_CONNECTION_ERROR (12030): reset or closed mid-answer

    @property
    def hex(self) -> str:
        return f"0x{self.value:08X}"


def http_error(status: int) -> int:
    """BG_E_HTTP_ERROR_<status> for an HTTP error status: 0x80190194 for 404, 0x801901F7 for 503.

    Documented for 401 only (B-49); [INFERENCE] every other status maps the same way, as BITS defines them.
    """
    if not 400 <= status <= 599:
        raise ValueError(f"HTTP status {status} is not an error status")
    return _BG_E_HTTP_ERROR | status


def hresult_text(code: int) -> str:
    """'0x80040102' for any 32-bit code, known or not."""
    return f"0x{code & 0xFFFFFFFF:08X}"

"""The task sequence engine's lines in smsts.log around a location request and a download.

Wording and order follow the product's (B-54): a step's program resolving its package through the CMG
(https://github.com/MSEndpointMgr/ModernDriverManagement/issues/69), the transport's request lines
(https://learn.microsoft.com/en-us/answers/questions/1007260/, https://github.com/MSEndpointMgr/
ModernDriverManagement/issues/249), an HTTP error (https://github.com/MSEndpointMgr/ConfigMgr/issues/351, KB 4490065)
and a downloaded file ([QF2007] in log_sources). Each line carries its source location (`log_sources`); the lines
are written as the running step program's (`ClientLogs.process`). Where the harness words a line itself, it says
[INFERENCE].
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from urllib.parse import urlsplit

from harness.client import log_sources as src
from harness.client.channel import ManagementChannel, server_auth_url
from harness.client.logs import ClientLogs
from harness.protocol.cmtrace import Severity
from harness.protocol.location import ContentLocationReply


class Auth(Enum):
    """How a request authenticates, as the transport says it before sending."""

    AUTHENTICATOR = (("SSL, using authenticator in request.", src.SSL_AUTHENTICATOR),)
    CLIENT_CERTIFICATE = (("In SSL, using client certificate.", src.SSL_CLIENT_CERT),)  # [INFERENCE] a PKI client
    NO_CLIENT_CERTIFICATE = (("In SSL, but with no client cert.", src.SSL_NO_CLIENT_CERT),)
    ANONYMOUS_CONTENT = (("In SSL, but not using DP auth token or authenticator", src.SSL_NO_CLIENT_CERT),
                         ("In SSL, but with no client cert.", src.SSL_NO_CLIENT_CERT))


def mp_url(channel: ManagementChannel) -> str:
    """The management point as the client was given it: the CMG's MutualAuth URL on the internet."""
    return channel.endpoints.cmg_url if channel.on_internet else channel.endpoints.mp_url


def resolving(logs: ClientLogs, channel: ManagementChannel, site_code: str, package_id: str, version: int) -> None:
    for message, source in ((f"Resolving content for SMS Package {package_id}", src.RESOLVING),
                            (f"Site Code {site_code}", src.SITE_CODE),
                            (f"MP {mp_url(channel)}", src.MP),
                            (f"TSPkgVar _SMSTS{package_id}", src.TS_PKG_VAR),
                            ("RunFromDPEnabled false", src.RUN_FROM_DP),
                            (f"Resolving local content for {package_id}:{version}", src.RESOLVING_LOCAL)):
        logs.smsts(message, file=source)


def transport_setup(logs: ClientLogs, channel: ManagementChannel) -> None:
    """The engine preparing its transport to the management point; a token client's converts the CMG's URL."""
    lines = [("No valid credential information in the environment.", src.NO_CREDENTIALS),
             (f"   Setting URL = {mp_url(channel)}, Ports = 80,443, CRL = false", src.PREPARE_TRANSPORT),
             ("   Setting Server Certificates.", src.TRANSPORT_SETTINGS),
             ("   Setting Authenticator.", src.TRANSPORT_SETTINGS)]
    if channel.uses_token:
        lines.append((f"Converting MutualAuth URL to ServerAuth: {server_auth_url(channel.endpoints.cmg_url)}",
                      src.CONVERTING))
    elif channel.on_internet:
        # [INFERENCE] the documented lines are a token client's; a PKI client keeps the MutualAuth URL.
        lines.append(("   Setting Client Certificate.", src.TRANSPORT_SETTINGS))
    for message, source in lines:
        logs.smsts(message, file=source)


def located(logs: ClientLogs, channel: ManagementChannel,
            locate: Callable[[], ContentLocationReply]) -> ContentLocationReply:
    """`locate()` (a content location request through `channel`), with the transport's lines around it."""
    sent(logs, "CCM_POST", channel.request_url, mp_auth(channel))
    reply = locate()
    succeeded(logs)
    exchange = channel.last_exchange
    if exchange is not None:
        logs.smsts("::DecompressBuffer(65536)", file=src.DECOMPRESS)
        logs.smsts(f"Decompression (zlib) succeeded: original size {exchange.compressed_size}, uncompressed size "
                   f"{exchange.size}.", file=src.DECOMPRESSED)
        logs.smsts(f"Location Reply:\n<![CDATA[{exchange.reply}]]>", file=src.LOCATION_REPLY)
    return reply


def mp_auth(channel: ManagementChannel) -> Auth:
    if channel.uses_token:
        return Auth.AUTHENTICATOR
    return Auth.CLIENT_CERTIFICATE if channel.on_internet else Auth.NO_CLIENT_CERTIFICATE


def sent(logs: ClientLogs, method: str, url: str, auth: Auth) -> None:
    """A request leaves: host and port, verb, and the path (a management point path through the CMG is logged
    without its leading slash, as B-54 shows; [INFERENCE] a query string is not logged)."""
    parts = urlsplit(url)
    path = parts.path.lstrip("/") if parts.path.startswith("/CCM_Proxy_") else parts.path
    logs.smsts(f"CLibSMSMessageWinHttpTransport::Send: WinHttpOpenRequest - URL: {parts.hostname}:"
               f"{parts.port or 443}  {method} {path}", file=src.SEND)
    for message, source in auth.value:
        logs.smsts(message, file=source)


def succeeded(logs: ClientLogs) -> None:
    # The product writes this one as a verbose line (type 0); CMTrace shows it as information, as here.
    logs.smsts("Request was successful.", file=src.REQUEST_SUCCEEDED)


def http_failed(logs: ClientLogs, status: int, phrase: str, hresult: int, *, file: bool) -> None:
    """An HTTP error status, reported with its 0x8019xxxx code (docs/error-codes.md)."""
    logs.smsts(f"Http response: {status} - {phrase}", file=src.HTTP_STATUS)
    logs.smsts(f"SendResourceRequest() failed. {hresult:08x}", severity=Severity.ERROR, file=src.DOWNLOAD_STATUS)
    if file:
        logs.smsts(f"Download() failed. {hresult:08x}", severity=Severity.ERROR, file=src.DOWNLOAD_FAILED)


def downloaded(logs: ClientLogs, url: str, local: str) -> None:
    logs.smsts(f"Downloaded file from {url.split('?')[0]} to {local}", file=src.DOWNLOADED_FILE)


def processing(logs: ClientLogs, count: int) -> None:
    logs.smsts(f"Processing {count} locations.", file=src.PROCESSING)

"""Liveness probe of an emulator container: `python -m harness.service.healthcheck` (the images' HEALTHCHECK).

GETs `https://127.0.0.1:$HARNESS_PORT/_harness/health` and exits 0 when the service says it is healthy, 1
otherwise, with one line saying why (Docker keeps it in `docker inspect`). The certificate is checked against
`$HARNESS_CA` when it names a file; otherwise it is not checked: this says whether the service answers, not
whether it can be trusted. Standard library only, so that a probe every few seconds costs little.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import sys
from collections.abc import Mapping

HEALTH_PATH = "/_harness/health"  # every service serves it (harness/service/control.py)
TIMEOUT_S = 2.0


class Unhealthy(Exception):
    """The service did not answer, or did not say it is healthy."""


def probe(port: int, ca: str | None = None, timeout: float = TIMEOUT_S) -> str:
    """The service's own description of itself when it is healthy; raises Unhealthy otherwise."""
    try:
        status, body = _get(port, ca, timeout)
    except (OSError, http.client.HTTPException) as error:  # ssl.SSLError and a missing CA file are OSErrors
        raise Unhealthy(f"https://127.0.0.1:{port}{HEALTH_PATH}: {error or type(error).__name__}") from None
    return _describe(port, status, body)


def _get(port: int, ca: str | None, timeout: float) -> tuple[int, bytes]:
    connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=_tls_context(ca))
    try:
        connection.request("GET", HEALTH_PATH)
        response = connection.getresponse()
        return response.status, response.read(4096)
    finally:
        connection.close()


def _tls_context(ca: str | None) -> ssl.SSLContext:
    if ca:
        return ssl.create_default_context(cafile=ca)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _describe(port: int, status: int, body: bytes) -> str:
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if status != 200 or not isinstance(answer, dict) or answer.get("status") != "healthy":
        raise Unhealthy(f"127.0.0.1:{port} answered {status}: {body[:200].decode('utf-8', 'replace')}")
    return f"{answer.get('service', 'service')} on 127.0.0.1:{port} is healthy (up {answer.get('uptime_s', '?')} s)"


def main(environ: Mapping[str, str] = os.environ) -> int:
    port = environ.get("HARNESS_PORT", "")
    if not port.isdigit():
        print(f"unhealthy: HARNESS_PORT must be the service's port, not {port!r}", file=sys.stderr)
        return 1
    try:
        print(probe(int(port), environ.get("HARNESS_CA") or None))
    except Unhealthy as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

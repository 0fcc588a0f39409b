"""Run one emulated service as a server process: `python -m harness.service.serve SERVICE ...`.

The listening socket is bound before the configuration is read, so an environment can start every
process at once, learn all ports, and only then hand each process the full name map on stdin.
Prints `READY <service> 127.0.0.1:<port>` on stdout once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import socket
import ssl
import sys
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from harness.clock.participant import ACTIVITY, Participant, TrackedListener
from harness.service.configs import CONFIGS, ConfigError, ServiceConfig, Tls
from harness.service.tls_peers import PeerCertificateH11Protocol, TrackedH11Protocol

# service name -> "module:factory"; each factory takes the service's typed configuration (harness/service/
# configs.py) and returns an ASGI app.
FACTORIES = {
    "site": "harness.emulators.site.app:create_app",
    "cmg": "harness.emulators.cmg.app:create_app",
    "clouddp": "harness.emulators.clouddp.app:create_app",
    "client": "harness.client.agent:create_app",
    "network": "harness.emulators.network.app:create_app",
    "storage": "harness.emulators.storage.app:create_app",
}


# The services that are part of the emulated world: on a virtual clock they report to its authority. (The
# client agent reports on its runs itself; the network hosts the authority.)
WORLD = ("site", "cmg", "clouddp", "storage")
KEEP_ALIVE_VIRTUAL_SECONDS = 3600


class _ReadyServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, service: str, port: int, authority: str | None = None) -> None:
        super().__init__(config)
        self._announce = f"READY {service} 127.0.0.1:{port}"
        self._service = service
        self._authority = authority

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self._authority is not None:
            ACTIVITY.party = self._service
            ACTIVITY.listeners = list(sockets or [])
            ACTIVITY.bind(asyncio.get_running_loop())
            Participant(self._authority, self._service, ACTIVITY.report)
        print(self._announce, flush=True)


def build_app(service: str, config: ServiceConfig) -> ASGIApp:
    module_name, factory = FACTORIES[service].split(":")
    app: ASGIApp = getattr(importlib.import_module(module_name), factory)(config)
    return app


def _listening_socket(args: argparse.Namespace) -> socket.socket:
    if args.fd is not None:
        return TrackedListener(fileno=args.fd)
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on connections whose socket says it is TCP,
    # and accepted sockets take the listener's proto. With proto 0 every answer written in two pieces waits
    # for the client's delayed ACK: 40 ms per request (seen in the containers environment). A socket from
    # `--fd` learns its proto from the kernel, so `local` never had the delay.
    sock = TrackedListener(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)
    return sock


def read_config(service: str, source: str) -> ServiceConfig:
    """The service's configuration from a JSON file, or stdin for "-"; exits naming what is wrong with it."""
    where = "stdin" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        return CONFIGS[service].from_json(json.loads(text))
    except (OSError, json.JSONDecodeError, ConfigError) as error:
        raise SystemExit(f"cannot read the {service} configuration from {where}: {error}") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m harness.service.serve", description=__doc__)
    parser.add_argument("service", choices=sorted(FACTORIES))
    parser.add_argument("--config", default="-", help="JSON configuration file, or - for stdin (default)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--fd", type=int, help="an already-bound listening socket inherited from the launcher")
    where.add_argument("--port", type=int, default=0, help="port to bind on 127.0.0.1 (0: any free port)")
    args = parser.parse_args(argv)
    sock = _listening_socket(args)
    config = read_config(args.service, args.config)
    app = build_app(args.service, config)
    tls = config.tls or Tls(ca="")
    virtual = config.clock.virtual if config.clock is not None else None
    # h11, not httptools: httptools rejects ConfigMgr's CCM_POST verb. A service that takes PKI client
    # certificates asks for one on every connection (CERT_OPTIONAL) and records what was presented.
    mutual = tls.client_certificates
    server_config = uvicorn.Config(
        app, http=PeerCertificateH11Protocol if mutual else TrackedH11Protocol,
        ssl_certfile=tls.cert, ssl_keyfile=tls.key,
        ssl_cert_reqs=ssl.CERT_OPTIONAL if mutual else ssl.CERT_NONE, ssl_ca_certs=tls.ca if mutual else None,
        log_level=config.log_level, lifespan="off", access_log=False,
        timeout_graceful_shutdown=3, server_header=False,
        # On a virtual clock a kept-alive connection must not close after real seconds of idling: whether a
        # request opens a new one (a TLS handshake through a slow link) would depend on the machine's speed.
        timeout_keep_alive=KEEP_ALIVE_VIRTUAL_SECONDS if virtual is not None else 5,
    )
    authority = virtual.authority if virtual is not None and args.service in WORLD else None
    _ReadyServer(server_config, args.service, sock.getsockname()[1], authority).run(sockets=[sock])


if __name__ == "__main__":
    main()

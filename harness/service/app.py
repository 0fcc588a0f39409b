"""The one way a served process becomes an ASGI app: its control plane's routes beside the service's own, the
control middleware around both (journal, armed faults, the URL check), and clear answers for errors.

Every service's `create_app` builds its model and routes, then calls `service_app`: the site, the CMG, the cloud
DP, the storage front, the network and the client agent all answer the control API, journal every request and
refuse bad input the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from harness.service.answers import http_error_handler, route_error_handler
from harness.service.control import ControlMiddleware, ControlPlane, HttpError

ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


def service_app(control: ControlPlane, routes: Sequence[BaseRoute], *,
                errors: Mapping[type[Exception], ErrorHandler] | None = None, **state: Any) -> Starlette:
    """The app: `control`'s routes and `routes`, with the control middleware. An `HttpError` answers its status
    and reason, and a path or method no route takes answers 404 or 405 naming what there is; `errors` adds or
    replaces handlers (a protocol error that is the client's fault, say, or Toxiproxy's error shape).
    `state` goes on `app.state` beside `control`, for tests and the in-process stack."""
    handlers: dict[Any, ErrorHandler] = {HttpError: http_error_handler, HTTPException: route_error_handler,
                                         **(errors or {})}
    app = Starlette(routes=[*control.routes(), *routes], exception_handlers=handlers,
                    middleware=[Middleware(ControlMiddleware, control=control)])
    app.state.control = control
    for name, value in state.items():
        setattr(app.state, name, value)
    return app

"""The app every served process is: its control API and its own routes behind the control middleware, which
journals every request; an HttpError answers its status and reason; a route that does not exist is a 404 that
says so; a service may add or replace error handlers; `state` lands on the app."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from harness.service.app import service_app
from harness.service.control import ControlPlane, HttpError


class _Model:
    def reset(self) -> None:
        pass

    def snapshot(self) -> dict[str, Any]:
        return {"answered": True}


async def _hello(request: Request) -> Response:
    return PlainTextResponse("hello")


async def _refuse(request: Request) -> Response:
    raise HttpError(422, "that package is not defined")


async def _broken(request: Request) -> Response:
    raise LookupError("no such thing")


async def _lookup(request: Request, exc: Exception) -> Response:
    return JSONResponse({"looked up": str(exc)}, status_code=404)


def _client(**kwargs: Any) -> TestClient:
    control = ControlPlane("site", _Model())
    routes = [Route("/hello", _hello), Route("/refuse", _refuse), Route("/broken", _broken)]
    return TestClient(service_app(control, routes, **kwargs), raise_server_exceptions=False)


def test_the_control_api_and_the_services_routes_answer_and_are_journaled() -> None:
    with _client() as client:
        assert client.get("/hello").text == "hello"
        assert client.get("/_harness/state").json() == {"service": "site", "answered": True}
        journal = [(e["path"], e["status"]) for e in client.get("/_harness/journal").json()]
        assert journal == [("/hello", 200), ("/_harness/state", 200)]


def test_an_http_error_and_an_unknown_route_answer_clearly() -> None:
    with _client() as client:
        refused = client.get("/refuse")
        assert (refused.status_code, refused.headers["x-harness-reason"]) == (422, "that package is not defined")
        missing = client.get("/nowhere")
        assert missing.status_code == 404 and "/nowhere" in missing.headers["x-harness-reason"]


def test_a_service_adds_its_own_error_answers_and_state() -> None:
    with _client(errors={LookupError: _lookup}, model="the model") as client:
        assert client.get("/broken").json() == {"looked up": "no such thing"}
        assert client.app.state.model == "the model"  # type: ignore[attr-defined]

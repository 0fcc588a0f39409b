"""A classic cloud distribution point: a content service in front of its own storage account.

    /downloadrestservice.svc/getcontentxmlsecure?pid=…   content manifest (B-46), as the CMG's

No management point traffic passes here (B-46). "Stopped" (B-23) is a
state of the service: the management point still lists it, but it answers no content request.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.emulators.cmg.content import ContentService
from harness.protocol.control_api import DELIBERATE
from harness.protocol.errors import ProtocolError
from harness.protocol.tokens import TokenError
from harness.service.app import service_app
from harness.service.configs import CloudDpServiceConfig
from harness.service.control import (
    JOURNAL_NOTE,
    ControlPlane,
    HttpError,
    read_json,
)

CONTENT_LOG = "CloudDP.log"  # [INFERENCE] the product's cloud DP logs live in Azure; this name is the harness's


class CloudDpModel:
    def __init__(self, name: str) -> None:
        self.name = name
        self.reset()

    def reset(self) -> None:
        self.stopped = False
        self.manifests = 0

    def snapshot(self) -> dict[str, Any]:
        return {"name": self.name, "stopped": self.stopped, "manifests": self.manifests}


class CloudDpService:
    def __init__(self, model: CloudDpModel, content: ContentService) -> None:
        self.model = model
        self.content = content

    async def get_content(self, request: Request) -> Response:
        if self.model.stopped:
            self.content.log(f"The cloud distribution point {self.model.name} is stopped; refusing content request")
            setattr(request.state, JOURNAL_NOTE, f"{DELIBERATE}the administrator stopped the cloud DP")
            raise HttpError(503, f"cloud distribution point {self.model.name} is stopped")
        response = await self.content.answer(request)
        self.model.manifests += 1
        return response

    async def put_state(self, request: Request) -> Response:
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("stopped"), bool):
            raise HttpError(400, "body must be {\"stopped\": true|false}")
        self.model.stopped = body["stopped"]
        return JSONResponse(self.model.snapshot())

    def routes(self) -> list[Route]:
        return [Route("/downloadrestservice.svc/getcontentxmlsecure", self.get_content, methods=["GET"]),
                Route("/_harness/clouddp/state", self.put_state, methods=["PUT"])]


async def _bad_request(request: Request, exc: Exception) -> Response:
    return Response(f"400 {exc}\n", status_code=400, media_type="text/plain")


def create_app(config: CloudDpServiceConfig) -> Starlette:
    clock = config.model_clock
    model = CloudDpModel(config.name)
    control = ControlPlane("clouddp", model, logs={CONTENT_LOG: "CloudDP"}, clock=clock)
    content = ContentService(config.storage, config.ca_path, bytes.fromhex(config.key), clock, control.logs,
                             CONTENT_LOG)
    return service_app(control, CloudDpService(model, content).routes(),
                       errors={ProtocolError: _bad_request, TokenError: _bad_request})

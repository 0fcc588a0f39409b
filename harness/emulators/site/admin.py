"""The site's admin API: what a scenario does in the console, over HTTP.

    PUT  /_harness/site/version                    {"version": 1910}
    PUT  /_harness/site/packages/{id}              {"name", "size": "3.2 GB", "version", "type"}
    POST /_harness/site/packages/{id}/distribute   {"to": ["cmg", "dp"]}
    POST /_harness/site/packages/{id}/damage       {"on": ["cmg"]}  (a copy whose bytes no longer match the hash)
    PUT  /_harness/site/task-sequences/{id}        {"name", "steps": [{"name", "action", "package", "duration", ...}]}
    PUT  /_harness/site/deployments/{id}           {"task_sequence", "option", "purpose", "allow_internet"}
    PUT  /_harness/site/cloud-sources/{name}       {"serve_content": false, "third_party_certificate": true}
    POST /_harness/site/cloud-dps/{name}           create the (classic) cloud DP; refused from 2107
    PUT  /_harness/site/boundary-groups/{name}     {"boundaries": [AD sites], "distribution_points", "neighbors",
                                                    "prefer_cloud", "peer_downloads" (default true)}
    PUT  /_harness/site/peer-cache-sources/{name}  {"ad_site": "HQ-Site", "packages": ["PS100011"]}: the client is a
                                                    peer cache source there and its cache holds those packages
    POST /_harness/site/registration-tokens        {"client": "CLIENT01"} -> {"token": …}

Every refusal names what was wrong (422 for a definition the console would refuse).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.emulators.site.boundaries import BoundaryGroup
from harness.emulators.site.definitions import parse_nodes
from harness.emulators.site.models import SiteModel
from harness.emulators.site.storage import BlobContent
from harness.model.deployment import Availability, Deployment, DeploymentOption, Purpose
from harness.model.task_sequence import PACKAGE_ID, Package, PackageType
from harness.model.units import parse_size
from harness.model.versions import SiteVersion
from harness.service.control import HttpError, read_json

PREFIX = "/_harness/site"
MAX_PHYSICAL_BYTES = 8 * 2**30  # a real OS upgrade package at scale 1 fits


class AdminRequests:
    def __init__(self, model: SiteModel, blobs: dict[str, BlobContent]) -> None:
        self.model = model
        self.blobs = blobs

    def routes(self) -> list[Route]:
        return [
            Route(f"{PREFIX}/version", self.put_version, methods=["PUT"]),
            Route(f"{PREFIX}/packages/{{package_id}}", self.put_package, methods=["PUT"]),
            Route(f"{PREFIX}/packages/{{package_id}}/distribute", self.distribute, methods=["POST"]),
            Route(f"{PREFIX}/packages/{{package_id}}/damage", self.damage, methods=["POST"]),
            Route(f"{PREFIX}/task-sequences/{{package_id}}", self.put_task_sequence, methods=["PUT"]),
            Route(f"{PREFIX}/deployments/{{deployment_id}}", self.put_deployment, methods=["PUT"]),
            Route(f"{PREFIX}/cloud-sources/{{name}}", self.put_cloud_source, methods=["PUT"]),
            Route(f"{PREFIX}/cloud-dps/{{name}}", self.create_cloud_dp, methods=["POST"]),
            Route(f"{PREFIX}/boundary-groups/{{name}}", self.put_boundary_group, methods=["PUT"]),
            Route(f"{PREFIX}/peer-cache-sources/{{name}}", self.put_peer_cache_source, methods=["PUT"]),
            Route(f"{PREFIX}/registration-tokens", self.registration_token, methods=["POST"]),
        ]

    async def put_version(self, request: Request) -> Response:
        body = await _object(request)
        self.model.set_version(_valid(SiteVersion.parse, _field(body, "version")))
        return JSONResponse({"version": self.model.version.release, "build": self.model.version.build})

    async def put_package(self, request: Request) -> Response:
        body = await _object(request)
        package = _valid(lambda: Package(
            package_id=request.path_params["package_id"], name=str(_field(body, "name")),
            model_size=_size(_field(body, "size")), version=int(body.get("version", 1)),
            kind=PackageType.parse(str(body.get("type", PackageType.PACKAGE.value))),
            package_share=_bool(body, "package_share", default=False)))
        record = self.model.define_package(package, self._physical_size(package))
        return JSONResponse({"package": package.package_id, "physical_size": record.physical_size,
                             "sha256": record.sha256})

    def _physical_size(self, package: Package) -> int:
        # Content is hashed when it is defined: an absurd size would stall the site instead of failing.
        scale = self.model.clock.scale
        if package.model_size > MAX_PHYSICAL_BYTES * scale.factor:
            raise HttpError(422, f"package {package.package_id} is too large for scale {scale.factor:g}: the "
                                 f"harness serves at most {MAX_PHYSICAL_BYTES} bytes per package (use a larger scale)")
        return scale.physical_bytes(package.model_size)

    async def distribute(self, request: Request) -> Response:
        body = await _object(request)
        targets = _field(body, "to")
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
            raise HttpError(400, "'to' must be a non-empty list of content source names")
        record = self.model.package(request.path_params["package_id"])
        self.model.check_sources(targets)
        for name in targets:
            if name in self.blobs:
                await run_in_threadpool(self.blobs[name].upload, record.package.package_id, record.package.version,
                                        record.file_name, record.physical_size, record.sha256)
        self.model.mark_distributed(record.package.package_id, targets)
        return JSONResponse({"package": record.package.package_id, "sources": sorted(record.sources)})

    async def damage(self, request: Request) -> Response:
        """Replaces the copy on the named sources with damaged bytes (the recorded hash stays)."""
        body = await _object(request)
        targets = _field(body, "on")
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
            raise HttpError(400, "'on' must be a non-empty list of content source names")
        record = self.model.package(request.path_params["package_id"])
        missing = sorted(set(targets) - record.sources)
        if missing:
            raise HttpError(409, f"package {record.package.package_id} is not on {', '.join(missing)}")
        for name in targets:
            if name in self.blobs:
                await run_in_threadpool(self.blobs[name].upload, record.package.package_id, record.package.version,
                                        record.file_name, record.physical_size, record.sha256, damaged=True)
            record.damaged.add(name)
        return JSONResponse({"package": record.package.package_id, "damaged": sorted(record.damaged)})

    async def put_task_sequence(self, request: Request) -> Response:
        body = await _object(request)
        steps = _valid(parse_nodes, _field(body, "steps"))
        variables = body.get("variables", {})
        if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
            raise HttpError(422, "'variables' must map task sequence variable names to text values")
        boot_image = body.get("boot_image") or ""
        if not isinstance(boot_image, str) or (boot_image and not PACKAGE_ID.match(boot_image)):
            raise HttpError(422, "'boot_image' must be the boot image's package ID, e.g. PS100005")
        ts = self.model.define_task_sequence(request.path_params["package_id"], str(_field(body, "name")), steps,
                                             variables, boot_image)
        return JSONResponse({"task_sequence": ts.package_id,
                             "packages": [p.package_id for p in ts.referenced_packages]})

    async def put_deployment(self, request: Request) -> Response:
        body = await _object(request)
        deployment = _valid(lambda: Deployment(
            deployment_id=request.path_params["deployment_id"], task_sequence_id=str(_field(body, "task_sequence")),
            option=DeploymentOption.parse(str(body.get("option", DeploymentOption.DOWNLOAD_ON_DEMAND.value))),
            purpose=Purpose(str(body.get("purpose", "Available"))), allow_internet=_bool(body, "allow_internet"),
            available_to=Availability.parse(str(body.get("available_to", Availability.CLIENTS.value))),
            pre_download=_bool(body, "pre_download", default=False),
            allow_remote_dp=_bool(body, "allow_remote_dp", default=True)))
        self.model.deploy(deployment)
        return JSONResponse({"deployment": deployment.deployment_id, "option": deployment.option.value})

    async def put_cloud_source(self, request: Request) -> Response:
        body = await _object(request)
        if not {"serve_content", "third_party_certificate"} & set(body):
            raise HttpError(400, "set 'serve_content' and/or 'third_party_certificate' (true or false)")
        if "serve_content" in body:
            self.model.set_serve_content(request.path_params["name"], _bool(body, "serve_content"))
        if "third_party_certificate" in body:
            self.model.set_third_party_certificate(request.path_params["name"], _bool(body, "third_party_certificate"))
        return JSONResponse(self.model.snapshot()["cloud_sources"][request.path_params["name"]])

    async def put_boundary_group(self, request: Request) -> Response:
        body = await _object(request)
        lists = {key: body.get(key, []) for key in ("boundaries", "distribution_points", "neighbors")}
        for key, value in lists.items():
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise HttpError(400, f"'{key}' must be a list of names")
        group = BoundaryGroup(name=request.path_params["name"], boundaries=tuple(lists["boundaries"]),
                              distribution_points=tuple(lists["distribution_points"]),
                              neighbors=tuple(lists["neighbors"]),
                              prefer_cloud=_bool(body, "prefer_cloud", default=False),
                              peer_downloads=_bool(body, "peer_downloads", default=True))
        self.model.define_boundary_group(group)
        return JSONResponse(self.model.boundaries.snapshot()[group.name])

    async def put_peer_cache_source(self, request: Request) -> Response:
        body = await _object(request)
        ad_site, packages = body.get("ad_site"), body.get("packages", [])
        if not isinstance(ad_site, str) or not ad_site:
            raise HttpError(400, "'ad_site' must be the AD site the peer cache source is in, e.g. HQ-Site")
        if not isinstance(packages, list) or not all(isinstance(p, str) and p for p in packages):
            raise HttpError(400, "'packages' must be a list of package IDs")
        source = self.model.declare_peer_cache_source(request.path_params["name"], ad_site, packages)
        return JSONResponse(self.model.peers.snapshot()[source.name])

    async def create_cloud_dp(self, request: Request) -> Response:
        self.model.install_cloud_dp(request.path_params["name"])
        return JSONResponse(self.model.snapshot()["cloud_sources"][request.path_params["name"]], status_code=201)

    async def registration_token(self, request: Request) -> Response:
        body = await _object(request)
        return JSONResponse({"token": self.model.issue_site_token(str(_field(body, "client")))})


def _size(value: Any) -> int:
    try:
        return parse_size(value) if isinstance(value, str) else int(value)
    except OverflowError:  # "1e400", Infinity
        raise ValueError(f"package size {str(value)[:40]!r} is not a finite number of bytes") from None


async def _object(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise HttpError(400, "request body must be a JSON object")
    return body


def _field(body: dict[str, Any], name: str) -> Any:
    if name not in body:
        raise HttpError(400, f"missing field {name!r}")
    return body[name]


def _bool(body: dict[str, Any], name: str, default: bool = True) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise HttpError(400, f"{name!r} must be true or false")
    return value


def _valid(build: Any, *args: Any) -> Any:
    """Run a model constructor; a ValueError/KeyError becomes a 422 naming the problem."""
    try:
        return build(*args)
    except KeyError as missing:
        raise HttpError(422, f"missing field {missing}") from None
    except (TypeError, ValueError, OverflowError) as error:  # int(1e400) overflows
        raise HttpError(422, str(error)) from None


__all__ = ["AdminRequests"]

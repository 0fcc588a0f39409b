"""Then steps on what crossed the network: resumed downloads, as the client recorded them and storage served them."""

from __future__ import annotations

from pytest_bdd import parsers, then

from harness.drivers.base import ServiceDriver
from harness.drivers.cmg import CmgDriver
from harness.drivers.run import RunResult
from harness.environments.base import Endpoints
from harness.model.units import parse_size
from harness.protocol.paths import CONTENT_CONTAINER


@then(parsers.parse("the second attempt at {package_id} asks Azure storage only for the rest from {size}"))
def storage_resumed(run: RunResult, storage: ServiceDriver, endpoints: Endpoints, package_id: str,
                    size: str) -> None:
    """The client resumed at the byte where the cut left the blob, and storage answered the Range with 206."""
    offset = endpoints.scale.physical_bytes(parse_size(size))
    resume = run.first("download.resume", package=package_id)
    assert resume["offset"] == offset, f"resumed at byte {resume['offset']}, expected {offset}\n{run.describe()}"
    reads = [e for e in storage.journal() if str(e["path"]).startswith(f"/{CONTENT_CONTAINER}/{package_id}/")
             and e["method"] == "GET"]
    assert [int(e["status"]) for e in reads] == [200, 206], f"blob reads: {reads}"


@then("the CMG's content service refused the expired token")
def refused_expired(cmg: CmgDriver) -> None:
    """The content service's journal: a request refused with 401/403 because the token or URL window had passed."""
    refused = [e for e in cmg.content_requests() if int(str(e["status"])) in (401, 403)]
    assert refused, f"no content request was refused: {cmg.content_requests()}"
    logs = cmg.logs().get("CMGContentService.log", "")
    assert "expired" in logs or "valid from" in logs, f"CMGContentService.log says no expiry:\n{logs[-2000:]}"


@then(parsers.parse("every request Azure storage throttled for {package_id} cost the client one more attempt"))
def one_attempt_per_throttle(run: RunResult, storage: ServiceDriver, endpoints: Endpoints, package_id: str) -> None:
    """Storage's journal is the ground truth of what was throttled; the client's timeline must show one failed
    attempt for each, and a last attempt that got everything."""
    reads = [e for e in storage.journal() if str(e["path"]).startswith(f"/{CONTENT_CONTAINER}/{package_id}/")
             and e["method"] == "GET"]
    throttled = sum(1 for e in reads if int(e["status"]) == 503)
    assert throttled, f"storage throttled none of {len(reads)} requests: pick a seed that throttles some"
    attempts = run.events("download.start", package=package_id)
    assert len(attempts) == throttled + 1, (f"{len(attempts)} attempts for {throttled} throttled requests of "
                                            f"{len(reads)}\n{run.describe()}")

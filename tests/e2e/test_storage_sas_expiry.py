"""A manifest's SAS URL expires in model time, over the wire: on a local environment on the virtual clock, a blob
read with the SAS the CMG handed out works, and the same URL 9 model hours later (moved on by hand at the network
service's control API, a real millisecond later) is 403 AuthenticationFailed from the storage front, as Azure
storage answers an expired SAS."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from defusedxml.ElementTree import fromstring

from harness.client.channel import ManagementChannel, SiteEndpoints
from harness.client.logs import ClientLogs
from harness.drivers.base import ServiceDriver
from harness.drivers.site import SiteDriver
from harness.environments.local import LocalEnvironment
from harness.protocol.location import ContentLocationRequest
from harness.protocol.manifest import parse_manifest

PACKAGE, CLIENT = "PS100011", "CLIENT01"


@pytest.fixture(scope="module")
def virtual() -> Iterator[LocalEnvironment]:
    with LocalEnvironment(clock_mode="virtual") as env:
        yield env


def manifest_urls(env: LocalEnvironment) -> list[str]:
    """The SAS URLs of PS100011's manifest from the CMG's content service, asked as an internet client asks:
    location request through the CMG with a site token, then the content URL with the content access token."""
    site = SiteDriver(env.http, env.endpoints["mp"].control_base)
    site.set_version(2107)
    site.set_serve_content("cmg", True)
    site.define_package(PACKAGE, "Windows 11", "3.2 GB", kind="OS upgrade package")
    site.distribute(PACKAGE, "cmg")
    clock = env.model_clock
    channel = ManagementChannel(client=CLIENT, http=env.http, on_internet=True,
                                endpoints=SiteEndpoints("PS1", env.endpoints["mp"].base, env.endpoints["cmg"].url),
                                site_token=site.registration_token(CLIENT), logs=ClientLogs(clock.now),
                                model_now=clock.now)
    reply = channel.locate(ContentLocationRequest(PACKAGE, 1, "PS1", use_azure=True, use_internet_dp=True))
    cmg_host = env.endpoints["cmg"].hostname
    [record] = [r for r in reply.records if cmg_host in r.url]
    answer = env.http.get(record.url, headers={"Authorization": f"Bearer {reply.access_token}"})
    assert answer.status_code == 200, answer.text
    return [file.url for file in parse_manifest(answer.text).files]


def test_a_manifest_sas_url_works_until_it_expires_in_model_time(virtual: LocalEnvironment) -> None:
    env = virtual
    env.reset()  # the clock back at the model epoch
    storage = ServiceDriver(env.http, env.endpoints["storage"].control_base)
    network = env.endpoints["network"].control_base
    [url] = manifest_urls(env)
    assert httpx.URL(url).path.startswith(f"/content/{PACKAGE}/")
    assert "se=2026-11-02T16%3A00%3A00Z" in url  # 8 model hours after the epoch: a model-time SAS

    first = env.http.get(url, headers={"Range": "bytes=0-1023"})
    assert first.status_code == 206 and len(first.content) == 1024, first.text

    moved = env.http.post(f"{network}/_harness/clock/advance", json={"seconds": 9 * 3600})
    assert moved.status_code == 200, moved.text
    assert env.http.get(f"{network}/_harness/clock").json()["now"].startswith("2026-11-02T17:00:00")

    later = env.http.get(url, headers={"Range": "bytes=0-1023"})
    assert later.status_code == 403, later.text
    assert later.headers["x-ms-error-code"] == "AuthenticationFailed"
    detail = fromstring(later.text).findtext("AuthenticationErrorDetail") or ""
    assert detail == ("Signature not valid in the specified time frame: Start [Mon, 02 Nov 2026 07:55:00 GMT] - "
                      "Expiry [Mon, 02 Nov 2026 16:00:00 GMT] - Current [Mon, 02 Nov 2026 17:00:00 GMT]"), detail
    reads = [e for e in storage.journal() if e["path"] == httpx.URL(url).path]
    assert [(e["status"], e["note"]) for e in reads] == [
        (206, ""), (403, "SAS refused: SAS expired at 2026-11-02 16:00:00; model time is 2026-11-02 17:00:00")]
    assert storage.state()["sas_refused"] == 1


def test_a_reset_leaves_no_blob_of_the_world_before_and_the_next_one_can_distribute_again(
        virtual: LocalEnvironment) -> None:
    """The site clears its storage accounts on reset: a URL of the world before finds nothing (Azure's 404 for a
    container that is not there), and the same package distributed again is served from a fresh container."""
    env = virtual
    env.reset()
    [url] = manifest_urls(env)
    assert env.http.get(url, headers={"Range": "bytes=0-1023"}).status_code == 206
    env.reset()
    gone = env.http.get(url, headers={"Range": "bytes=0-1023"})
    assert gone.status_code == 404, gone.text
    assert gone.headers["x-ms-error-code"] == "ContainerNotFound"
    [again] = manifest_urls(env)
    assert env.http.get(again, headers={"Range": "bytes=0-1023"}).status_code == 206

"""Peer cache at the management point and on the peer's share: the MP offers a peer cache source of the client's
boundary group first, never through the CMG (peer cache is not supported there) and never to a client that does not
ask; the peer's SuperPeer share serves what its cache holds and nothing else; bad declarations are refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from harness.clock.model_clock import ModelClock
from harness.emulators.site.app import create_app as create_site
from harness.net.tls import TestPKI
from harness.protocol.location import ContentLocationRequest, build_location_request, parse_location_reply
from harness.protocol.messaging import CONTENT_TYPE, CcmMessage, decode_reply, encode_message
from harness.service.configs import SiteServiceConfig
from tests.contract.conftest import site_config

PEER_FQDN = "pc01.corp.contoso.example"
PACKAGE, OTHER = "PS100011", "PS100012"
SHARE = f"https://{PEER_FQDN}/SCCM_BranchCache$"


@pytest.fixture
def site(pki: TestPKI, clock: ModelClock, key: bytes) -> Iterator[TestClient]:
    """A site whose DP has both packages, and whose peer cache source PC01 in HQ-Site holds only PS100011."""
    config = {**site_config(pki, clock, key, cloud_sources=[]),
              "peer_cache_sources": [{"name": "PC01", "fqdn": PEER_FQDN}]}
    with TestClient(create_site(SiteServiceConfig.from_json(config)), raise_server_exceptions=False) as client:
        for package in (PACKAGE, OTHER):
            definition = {"name": "p", "size": "3.2 GB", "type": "OS upgrade package"}
            assert client.put(f"/_harness/site/packages/{package}", json=definition).status_code == 200
            assert client.post(f"/_harness/site/packages/{package}/distribute", json={"to": ["dp"]}).status_code == 200
        declared = client.put("/_harness/site/peer-cache-sources/pc01", json={"ad_site": "HQ-Site",
                                                                              "packages": [PACKAGE]})
        assert declared.status_code == 200, declared.text
        yield client


def locations(site: TestClient, package: str, **flags: Any) -> list[tuple[str, str]]:
    """(URL, locality) of each record the MP answers a location request with: by default from an intranet client
    in HQ-Site that may use peers; `flags` change the request."""
    fields = {"use_internet_dp": False, "allow_super_peer": True, "ad_site": "HQ-Site", **flags}
    request = ContentLocationRequest(package, 1, "PS1", use_azure=False, **fields)
    body = encode_message(CcmMessage("MP_LocationManager", build_location_request(request)))[0]
    answer = site.request("CCM_POST", "/ccm_system/request", content=body, headers={"content-type": CONTENT_TYPE})
    assert answer.status_code == 200, answer.text
    reply = parse_location_reply(decode_reply(answer.content, answer.headers["content-type"]))
    return [(r.url, r.locality) for r in reply.records]


def test_a_peer_of_the_clients_boundary_group_comes_before_the_distribution_point(site: TestClient) -> None:
    records = locations(site, PACKAGE)
    assert records[0] == (f"https://{PEER_FQDN}:443/SCCM_BranchCache$/{PACKAGE}", "PEER")
    assert [locality for _, locality in records[1:]] == ["LOCAL"]


@pytest.mark.parametrize(("package", "flags"), [
    (PACKAGE, {"use_internet_dp": True}),
    (PACKAGE, {"allow_super_peer": False}),
    (PACKAGE, {"ad_site": "Branch-Site"}),
    (OTHER, {}),
], ids=["through-the-cmg", "client-does-not-ask", "other-boundary", "not-in-its-cache"])
def test_no_peer_is_offered_where_peer_cache_does_not_apply(site: TestClient, package: str,
                                                            flags: dict[str, Any]) -> None:
    assert all(locality != "PEER" for _, locality in locations(site, package, **flags))


def test_a_group_that_does_not_allow_peer_downloads_is_offered_no_peer(site: TestClient) -> None:
    group = {"boundaries": ["HQ-Site"], "distribution_points": ["dp"], "peer_downloads": False}
    assert site.put("/_harness/site/boundary-groups/Headquarters", json=group).status_code == 200
    assert [locality for _, locality in locations(site, PACKAGE)] == ["LOCAL"]


def test_the_peers_share_serves_what_its_cache_holds_like_a_dp(site: TestClient) -> None:
    from_peer = site.get(f"{SHARE}/{PACKAGE}/sources/install.esd")
    assert from_peer.status_code == 200
    assert from_peer.content == site.get(f"/SMS_DP_SMSPKG$/{PACKAGE}/sources/install.esd").content
    assert site.request("PROPFIND", f"{SHARE}/{PACKAGE}", headers={"Depth": "1"}).status_code == 207


@pytest.mark.parametrize(("url", "words"), [
    (f"{SHARE}/{OTHER}/sources/install.esd", [f"{PEER_FQDN} shares no package {OTHER}"]),
    (f"/SCCM_BranchCache$/{PACKAGE}/sources/install.esd", ["shares no package"]),  # the MP's own name
], ids=["not-in-its-cache", "not-a-peer"])
def test_the_share_refuses_what_the_peer_does_not_hold(site: TestClient, url: str, words: list[str]) -> None:
    answer = site.get(url)
    assert answer.status_code == 404
    assert all(word in answer.headers["x-harness-reason"] for word in words)


@pytest.mark.parametrize(("name", "body", "status", "words"), [
    ("PC99", {"ad_site": "HQ-Site", "packages": [PACKAGE]}, 404,
     ["no peer cache source named 'PC99'", "it has PC01"]),
    ("PC01", {"ad_site": "HQ-Site", "packages": ["PS1FFFFF"]}, 422, ["cannot hold undefined package(s) PS1FFFFF"]),
    ("PC01", {"packages": [PACKAGE]}, 400, ["'ad_site' must be the AD site"]),
    ("PC01", {"ad_site": "HQ-Site", "packages": PACKAGE}, 400, ["'packages' must be a list of package IDs"]),
], ids=["unknown-peer", "undefined-package", "no-ad-site", "packages-not-a-list"])
def test_bad_peer_cache_declarations_are_refused(site: TestClient, name: str, body: dict[str, Any], status: int,
                                                 words: list[str]) -> None:
    answer = site.put(f"/_harness/site/peer-cache-sources/{name}", json=body)
    assert answer.status_code == status, answer.text
    assert all(word in answer.headers["x-harness-reason"] for word in words)

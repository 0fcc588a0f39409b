"""The packages the DP contract tests stock the site's DP with (the `dp` fixture in tests/contract/conftest.py), and
the DP's content vdirs they ask for them."""

from __future__ import annotations

from starlette.testclient import TestClient

DP = "/SMS_DP_SMSPKG$"
SIG = "/SMS_DP_SMSSIG$"
OS, PLAIN, IDLE = "PS100011", "PS100012", "PS100013"


def stock(site: TestClient) -> TestClient:
    """OS upgrade package PS100011 (sources/install.esd) and PS100012 version 2 (content.bin) on the site's DP;
    PS100013 defined but on no DP."""
    for package_id, body in ((OS, {"name": "Windows 11", "size": "3 MB", "type": "OS upgrade package"}),
                             (PLAIN, {"name": "Tools", "size": "1 MB", "version": 2}),
                             (IDLE, {"name": "Idle", "size": "1 MB"})):
        assert site.put(f"/_harness/site/packages/{package_id}", json=body).status_code == 200
    for package_id in (OS, PLAIN):
        assert site.post(f"/_harness/site/packages/{package_id}/distribute", json={"to": ["dp"]}).status_code == 200
    return site


def size_of(site: TestClient, package_id: str) -> int:
    size: int = site.get("/_harness/state").json()["packages"][package_id]["physical_size"]
    return size

"""HTTP-level faults through the control API, in-process: each kind on a real product endpoint (the CMG's
content service, the site's DP), the journal notes, the listing, the Python driver, and bad fault JSON."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from harness.clock.model_clock import ModelClock
from harness.drivers.base import ServiceDriver
from harness.drivers.faults import Corrupt, Cut, Delay, Status
from harness.model.content import content_bytes
from harness.protocol.control_api import FAULT
from tests.contract.refusals import assert_refused

MakeToken = Callable[..., str]
CMG_ID = "72186325152220500"
CONTENT = "/downloadrestservice.svc/getcontentxmlsecure"
PACKAGE = "PS100011"
# 8 GB at the contract tests' scale of 5000: 1.6 MB on the wire, more than one 1 MiB chunk of the DP's stream.
FILE = f"/SMS_DP_SMSPKG$/{PACKAGE}/content.bin"



def arm(client: TestClient, **fault: Any) -> None:
    response = client.post("/_harness/faults", json=fault)
    assert response.status_code == 200, response.text


def last_entry(client: TestClient, path: str) -> dict[str, Any]:
    entry: dict[str, Any] = [e for e in client.get("/_harness/journal").json() if e["path"] == path][-1]
    return entry


@pytest.fixture
def dp(site: TestClient) -> TestClient:
    """The site with PS100011 (8 GB model, 1.6 MB physical) on its own DP."""
    assert site.put(f"/_harness/site/packages/{PACKAGE}", json={"name": "Big", "size": "8 GB"}).status_code == 200
    assert site.post(f"/_harness/site/packages/{PACKAGE}/distribute", json={"to": ["dp"]}).status_code == 200
    return site


def package_bytes(dp: TestClient) -> bytes:
    return content_bytes(PACKAGE, 1, dp.get("/_harness/state").json()["packages"][PACKAGE]["physical_size"])


# -- status ----------------------------------------------------------------------------------------------------


def test_a_status_fault_in_the_original_shape_answers_the_next_requests(cmg: TestClient) -> None:
    arm(cmg, path=CONTENT, status=403, count=2, reason="content access token expired")
    for _ in range(2):
        assert_refused(cmg.get(CONTENT), 403, "content access token expired")
    assert last_entry(cmg, CONTENT)["note"] == f"{FAULT}content access token expired"
    assert cmg.get(CONTENT).status_code == 400  # the content service's own answer: no pid
    assert last_entry(cmg, CONTENT)["note"] == ""


def test_a_503_can_say_when_to_retry(dp: TestClient) -> None:
    arm(dp, path="/SMS_DP_SMSPKG$", status=503, retry_after_s=30, reason="server busy")
    response = dp.get(FILE)
    assert_refused(response, 503, "server busy")
    assert response.headers["retry-after"] == "30"


def test_faults_never_touch_the_control_api(dp: TestClient) -> None:
    arm(dp, path="/", status=503, count=None)
    assert dp.get("/_harness/health").status_code == 200
    assert dp.get("/_harness/state").status_code == 200
    assert dp.get(FILE).status_code == 503
    assert_refused(dp.post("/_harness/faults", json={"path": "/_harness/state", "status": 503}), 400,
                   "product path", "never apply to /_harness/")


# -- delay -------------------------------------------------------------------------------------------------------


def test_a_delay_holds_the_answer_for_model_seconds_then_lets_it_through(dp: TestClient, clock: ModelClock) -> None:
    arm(dp, path=FILE, kind="delay", delay_s=1500)  # 0.3 s at the contract tests' scale
    started = time.monotonic()
    response = dp.get(FILE)
    assert time.monotonic() - started >= clock.scale.real_seconds(1500)
    assert response.status_code == 200
    assert response.content == package_bytes(dp)
    entry = last_entry(dp, FILE)
    assert entry["elapsed_ms"] >= 300
    assert entry["note"] == f"{FAULT}response held 1500 model s (fault injected by the harness)"


def test_a_server_error_under_a_delay_is_still_the_services_own(cmg: TestClient, make_token: MakeToken) -> None:
    """The scenario check excuses a 5xx whose note starts with the fault prefix; a delay did not cause this one."""
    path = f"/CCM_Proxy_ServerAuth/{CMG_ID}/CCM_STS"
    arm(cmg, path=path, kind="delay", delay_s=5)
    response = cmg.post(path, headers={"Authorization": f"Bearer {make_token('site')}"})
    assert response.status_code == 502  # the management point behind the gateway is a closed port
    note = last_entry(cmg, path)["note"]
    assert not note.startswith(FAULT)
    assert note == f"502 from the service itself; {FAULT}response held 5 model s (fault injected by the harness)"


# -- truncate -----------------------------------------------------------------------------------------------------


def test_a_truncated_download_is_short_of_its_declared_length(dp: TestClient) -> None:
    whole = package_bytes(dp)
    arm(dp, path=FILE, kind="truncate", after_bytes=1_500_000)  # past the first 1 MiB chunk
    response = dp.get(FILE)
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(whole))
    assert response.content == whole[:1_500_000]
    assert last_entry(dp, FILE)["note"] == f"{FAULT}body cut after 1500000 bytes (fault injected by the harness)"
    assert dp.get(FILE).content == whole  # count 1: the next download is whole


def test_a_truncate_past_the_end_of_the_body_cuts_nothing_and_says_so(dp: TestClient) -> None:
    arm(dp, path=FILE, kind="truncate", after_bytes=10**9)
    assert dp.get(FILE).content == package_bytes(dp)
    assert last_entry(dp, FILE)["note"] == (f"{FAULT}body ended within the 1000000000 bytes a truncate lets "
                                            "through (fault injected by the harness)")


# -- corrupt -------------------------------------------------------------------------------------------------------


def test_a_corrupted_download_has_its_length_and_not_its_hash(dp: TestClient) -> None:
    whole = package_bytes(dp)
    arm(dp, path=FILE, kind="corrupt", every_bytes=100_000)
    response = dp.get(FILE)
    assert response.status_code == 200
    assert len(response.content) == len(whole)
    assert hashlib.sha256(response.content).hexdigest() != dp.get("/_harness/state").json()["packages"][PACKAGE][
        "sha256"]
    changed = [i for i in range(0, len(whole)) if response.content[i] != whole[i]]
    assert changed == list(range(0, len(whole), 100_000))  # the same bytes every time, across the 1 MiB chunks
    assert last_entry(dp, FILE)["note"] == (f"{FAULT}body corrupted, one byte in every 100000 (fault injected by "
                                            "the harness)")


# -- arming, listing, clearing -------------------------------------------------------------------------------------


def test_several_kinds_act_on_one_request_and_each_is_noted(dp: TestClient) -> None:
    whole = package_bytes(dp)
    arm(dp, path=FILE, kind="delay", delay_s=5)
    arm(dp, path=FILE, kind="truncate", after_bytes=1000)
    arm(dp, path=FILE, kind="corrupt", every_bytes=10)
    assert dp.get(FILE).content == bytes(b ^ 0xFF if i % 10 == 0 else b for i, b in enumerate(whole[:1000]))
    assert last_entry(dp, FILE)["note"].split("; ") == [
        f"{FAULT}response held 5 model s (fault injected by the harness)",
        f"{FAULT}body cut after 1000 bytes (fault injected by the harness)",
        f"{FAULT}body corrupted, one byte in every 10 (fault injected by the harness)"]


def test_the_listing_shows_what_is_left_and_a_window_not_yet_open(dp: TestClient) -> None:
    arm(dp, path=FILE, status=503, count=None, window={"from_s": 36000, "until_s": 72000})  # opens in 7.2 real s
    arm(dp, path="/SMS_DP_SMSSIG$", status=500, count=3)
    assert dp.get(FILE).status_code == 200
    listed = dp.get("/_harness/faults").json()
    assert [(f["id"], f["state"], f["remaining"], f["fired"]) for f in listed] == [(1, "waiting", None, 0),
                                                                                   (2, "active", 3, 0)]
    assert listed[0]["window"] == {"from_s": 36000, "until_s": 72000}
    assert dp.delete("/_harness/faults").json() == []
    assert dp.get("/_harness/faults").json() == []


def test_reset_disarms_every_fault(dp: TestClient) -> None:
    arm(dp, path="/", status=503, count=None)
    assert dp.post("/_harness/reset").status_code == 200
    assert dp.get("/_harness/faults").json() == []


def test_the_driver_arms_lists_and_clears(dp: TestClient) -> None:
    driver = ServiceDriver(dp, "http://testserver")
    driver.arm(FILE, Status(503, retry_after=5).times(2).because("typed"))
    driver.arm(FILE, Corrupt(every=64).unlimited().during(0).with_probability(0.5, seed=4))
    driver.arm(FILE, Cut(after=10).on("GET"))
    driver.arm(FILE, Delay(30))
    assert [(f["kind"], f["count"], f["reason"]) for f in driver.faults()] == [
        ("status", 2, "typed"), ("corrupt", None, "fault injected by the harness"),
        ("truncate", 1, "fault injected by the harness"), ("delay", 1, "fault injected by the harness")]
    status, corrupt, cut, delay = driver.faults()
    assert (status["status"], status["retry_after_s"], status["method"]) == (503, 5, "*")
    assert (corrupt["every_bytes"], corrupt["window"], corrupt["probability"], corrupt["seed"]) == (
        64, {"from_s": 0, "until_s": None}, 0.5, 4)
    assert (cut["after_bytes"], cut["method"], delay["delay_s"]) == (10, "GET", 30)
    driver.clear_faults()
    assert driver.faults() == []


# -- bad fault JSON -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "words"), [
    (b"[]", ["a fault is a JSON object", "delay: delay_s"]),
    (b"not json", ["not valid JSON"]),
    (b'{"path": "/x", "status": ' + b"9" * 5000 + b"}", ["not valid JSON"]),
    (b'{"status": 503}', ["missing 'path'"]),
    (b'{"path": "/x"}', ["missing 'status'", "400-599"]),
    (b'{"path": "/x", "status": "teapot"}', ["status must be an integer 400-599", '"teapot"']),
    (b'{"path": "/x", "status": Infinity}', ["status must be", "Infinity"]),
    (b'{"path": "/x", "status": 503.0}', ["status must be an integer"]),
    (b'{"path": "/x", "status": 200}', ["status must be an integer 400-599", "200"]),
    (b'{"path": "x", "status": 503}', ["path must be", "starting with '/'"]),
    (b'{"path": "/x", "status": 503, "count": 0}', ["count must be a whole number of 1 or more", "null"]),
    (b'{"path": "/x", "status": 503, "count": 1e400}', ["count must be", "Infinity"]),
    (b'{"path": "/x", "status": 503, "count": true}', ["count must be", "true"]),
    (b'{"path": "/x", "status": 503, "method": "GET /"}', ["method must be an HTTP verb"]),
    (b'{"path": "/x", "status": 503, "reason": 5}', ["reason must be a string"]),
    (b'{"path": "/x", "kind": "explode"}', ["kind must be one of status, delay, truncate, corrupt", '"explode"']),
    (b'{"path": "/x", "kind": ["delay"]}', ["kind must be one of"]),
    (b'{"path": "/x", "status": 503, "colour": "red"}', ["unknown field 'colour'", "takes path, method"]),
    (b'{"path": "/x", "status": 503, "delay_s": 5}', ["'delay_s' belongs to kind 'delay'", "status, retry_after_s"]),
    (b'{"path": "/x", "status": 500, "retry_after_s": 30}', ["retry_after_s only goes with status 503 or 429"]),
    (b'{"path": "/x", "status": 503, "retry_after_s": -1}', ["retry_after_s must be whole model seconds"]),
    (b'{"path": "/x", "kind": "delay"}', ["missing 'delay_s'"]),
    (b'{"path": "/x", "kind": "delay", "delay_s": -1}', ["delay_s must be model seconds, 0 or more", "-1"]),
    (b'{"path": "/x", "kind": "delay", "delay_s": NaN}', ["delay_s must be", "NaN"]),
    (b'{"path": "/x", "kind": "delay", "delay_s": 1e9}', ["delay_s must be", "up to 86400"]),
    (b'{"path": "/x", "kind": "truncate"}', ["missing 'after_bytes'"]),
    (b'{"path": "/x", "kind": "truncate", "after_bytes": -5}', ["after_bytes must be a whole number of bytes"]),
    (b'{"path": "/x", "kind": "corrupt", "every_bytes": 0}', ["every_bytes must be a whole number of 1 or more"]),
    (b'{"path": "/x", "status": 503, "probability": 1.5}', ["probability must be a number from 0 to 1", "1.5"]),
    (b'{"path": "/x", "status": 503, "probability": "half"}', ["probability must be a number from 0 to 1"]),
    (b'{"path": "/x", "status": 503, "seed": 3}', ["seed only applies with a probability"]),
    (b'{"path": "/x", "status": 503, "probability": 0.5, "seed": 0.5}', ["seed must be an integer"]),
    (b'{"path": "/x", "status": 503, "window": [0, 10]}', ["window must be an object with from_s and until_s"]),
    (b'{"path": "/x", "status": 503, "window": {"from": 0}}', ["window must be an object with from_s and until_s"]),
    (b'{"path": "/x", "status": 503, "window": {"from_s": 60, "until_s": 30}}',
     ["window.until_s must be after window.from_s", "from_s 60 and until_s 30"]),
    (b'{"path": "/x", "status": 503, "window": {"from_s": -1}}', ["window.from_s must be model seconds, 0 or more"]),
    (b'{"path": "/x", "status": 503, "window": {"until_s": Infinity}}', ["window.until_s must be a finite"]),
])
def test_bad_fault_json_is_refused_naming_the_field(site: TestClient, body: bytes, words: list[str]) -> None:
    assert_refused(site.post("/_harness/faults", content=body), 400, *words)
    assert site.get("/_harness/faults").json() == []

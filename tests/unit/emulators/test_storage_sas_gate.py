"""The storage front as Azure storage's SAS gate, in model time, in-process: a SAS inside its model-time window
reaches Azurite re-signed for real time; an expired, not yet valid or tampered one is 403 AuthenticationFailed
in Azure's words; a request without a SAS passes as it came. Azurite is a stand-in that records what it got."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote

import httpx
import pytest
from azure.storage.blob import BlobSasPermissions, generate_blob_sas
from defusedxml.ElementTree import fromstring
from starlette.testclient import TestClient

from harness.clock.model_clock import ModelClock
from harness.emulators.cmg.content import SAS_CLOCK_SKEW, SAS_LIFETIME
from harness.emulators.storage.app import create_app
from harness.environments.azurite import generate_account_key
from harness.model.units import DEFAULT_MODEL_EPOCH, Scale
from harness.service.configs import StorageServiceConfig

ACCOUNT, OTHER = "contosocmgcontent", "contosoclouddp"
HOST = f"{ACCOUNT}.blob.core.example"
AZURITE = "https://127.0.0.1:10000"
BLOB = "PS100011/install.wim"
PATH = f"/content/{BLOB}"
KEYS = {ACCOUNT: generate_account_key(), OTHER: generate_account_key()}
EPOCH = DEFAULT_MODEL_EPOCH

MakeFront = Callable[..., TestClient]


def model_clock(hours: float = 0.0) -> ModelClock:
    """A real clock at scale 1 that reads the model epoch + `hours` now (and moves a second per second)."""
    return ModelClock(Scale(1), real_epoch=time.time() - hours * 3600)


def sas(signed_at: datetime = EPOCH, *, key: str = KEYS[ACCOUNT], blob: str = BLOB, account: str = ACCOUNT,
        **changes: object) -> str:
    """A SAS signed as the content service signs one at `signed_at` (read, st − 5 min, se + 8 h)."""
    options: dict[str, object] = {"permission": BlobSasPermissions(read=True), "start": signed_at - SAS_CLOCK_SKEW,
                                  "expiry": signed_at + SAS_LIFETIME, **changes}
    return generate_blob_sas(account, "content", blob, account_key=key, **options)  # type: ignore[arg-type]


def field(query: str, name: str) -> str:
    return parse_qs(query)[name][0]


def with_field(query: str, name: str, value: str) -> str:
    return "&".join(f"{name}={quote(value, safe='')}" if part.startswith(f"{name}=") else part
                    for part in query.split("&"))


class Azurite:
    """What the front passed on, and a blob's bytes for an answer."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = b"blob bytes"  # a stream, as Azurite's answer is: the front passes it on unread
        return httpx.Response(200, stream=httpx.ByteStream(body),
                              headers={"content-length": str(len(body)), "x-ms-blob-type": "BlockBlob"})


@pytest.fixture
def azurite() -> Azurite:
    return Azurite()


@pytest.fixture
def make_front(azurite: Azurite) -> Iterator[MakeFront]:
    """make_front(hours=0): the storage front with its model clock at the epoch + `hours`."""
    clients: list[TestClient] = []

    def make(hours: float = 0.0) -> TestClient:
        config = {"tls": {"ca": "unused"}, "clock": model_clock(hours).to_json(), "upstream": AZURITE,
                  "accounts": KEYS}
        upstream = httpx.AsyncClient(transport=httpx.MockTransport(azurite))
        client = TestClient(create_app(StorageServiceConfig.from_json(config), upstream=upstream), base_url=f"https://{HOST}:4443",
                            raise_server_exceptions=False)
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def refused(response: httpx.Response, *words: str) -> str:
    """The AuthenticationErrorDetail of a 403 AuthenticationFailed in Azure's words, checked for `words`."""
    assert response.status_code == 403, response.text
    assert response.headers["x-ms-error-code"] == "AuthenticationFailed"
    error = fromstring(response.text)
    assert error.findtext("Code") == "AuthenticationFailed"
    assert (error.findtext("Message") or "").startswith(
        "Server failed to authenticate the request. Make sure the value of Authorization header is formed "
        "correctly including the signature.\nRequestId:")
    detail = error.findtext("AuthenticationErrorDetail") or ""
    for word in words:
        assert word in detail, detail
    return detail


def journal_note(front: TestClient) -> str:
    note: str = [e for e in front.get("/_harness/journal").json() if e["path"] == PATH][-1]["note"]
    return note


# -- admitted ----------------------------------------------------------------------------------------------------


def test_a_sas_inside_its_model_time_window_reaches_azurite_re_signed_in_real_time(
        make_front: MakeFront, azurite: Azurite) -> None:
    front = make_front(hours=7.5)  # half an hour before the SAS signed at the epoch expires
    query = sas()
    response = front.get(f"{PATH}?{query}&timeout=30", headers={"Range": "bytes=0-99"})
    assert (response.status_code, response.content) == (200, b"blob bytes")

    [passed] = azurite.requests
    assert (passed.url.host, passed.url.path) == ("127.0.0.1", PATH)
    assert passed.headers["host"] == f"{HOST}:4443" and passed.headers["range"] == "bytes=0-99"
    sent = passed.url.query.decode()
    for name in ("sv", "sp", "sr"):  # what the SAS grants is what the client was granted
        assert field(sent, name) == field(query, name)
    assert field(sent, "timeout") == "30"
    real_now = datetime.now(UTC)
    start, expiry = (datetime.fromisoformat(field(sent, name)) for name in ("st", "se"))
    assert abs(start - (real_now - timedelta(minutes=5))) < timedelta(seconds=30)
    assert abs(expiry - (real_now + timedelta(hours=1))) < timedelta(seconds=30)
    resigned = generate_blob_sas(ACCOUNT, "content", BLOB, account_key=KEYS[ACCOUNT], permission="r",
                                 start=field(sent, "st"), expiry=field(sent, "se"))
    assert field(sent, "sig") == field(resigned, "sig")  # Azurite's own check of it passes
    assert front.get("/_harness/state").json()["sas_admitted"] == 1


def test_a_request_without_a_sas_passes_exactly_as_it_came(make_front: MakeFront, azurite: Azurite) -> None:
    """The site's uploads and the content service's listings: SharedKey headers, no SAS. Model time is no matter."""
    front = make_front(hours=1000)
    query = "restype=container&comp=list&prefix=PS100011%2F&include=metadata"
    headers = {"Authorization": f"SharedKey {ACCOUNT}:c2lnbmF0dXJl", "x-ms-date": "Mon, 02 Nov 2026 08:00:00 GMT"}
    assert front.get(f"/content?{query}", headers=headers).status_code == 200
    [passed] = azurite.requests
    assert passed.url.query.decode() == query
    assert passed.headers["authorization"] == headers["Authorization"]
    assert front.get("/_harness/state").json() == {"service": "storage", "forwarded": 1, "sas_admitted": 0,
                                                   "sas_refused": 0}


def test_a_path_style_request_names_its_account_in_the_path(make_front: MakeFront, azurite: Azurite) -> None:
    front = make_front()
    assert front.get(f"https://127.0.0.1:4443/{ACCOUNT}{PATH}?{sas()}").status_code == 200
    refused(front.get(f"https://127.0.0.1:4443/{OTHER}{PATH}?{sas()}"), "Signature did not match")
    assert len(azurite.requests) == 1


def test_a_sas_for_an_account_the_front_does_not_keep_is_left_to_azurite(make_front: MakeFront,
                                                                         azurite: Azurite) -> None:
    front = make_front(hours=1000)
    query = sas(account="unknownaccount", key=generate_account_key())
    assert front.get(f"https://unknownaccount.blob.core.example{PATH}?{query}").status_code == 200
    assert azurite.requests[0].url.query.decode() == query


# -- refused ---------------------------------------------------------------------------------------------------


def test_a_sas_past_its_expiry_in_model_time_is_refused(make_front: MakeFront, azurite: Azurite) -> None:
    front = make_front(hours=9)  # the SAS signed at the epoch expired an hour ago, however little real time passed
    response = front.get(f"{PATH}?{sas()}")
    detail = refused(response, "Signature not valid in the specified time frame: Start [Mon, 02 Nov 2026 07:55:00 "
                               "GMT] - Expiry [Mon, 02 Nov 2026 16:00:00 GMT] - Current [Mon, 02 Nov 2026 17:00:")
    assert detail.endswith(" GMT]")
    assert "\nTime:2026-11-02T17:00:" in (fromstring(response.text).findtext("Message") or "")  # model time
    assert journal_note(front).startswith("SAS refused: SAS expired at 2026-11-02 16:00:00; model time is "
                                          "2026-11-02 17:00:")
    assert azurite.requests == []
    assert front.get("/_harness/state").json()["sas_refused"] == 1


def test_a_sas_before_its_start_in_model_time_is_refused(make_front: MakeFront, azurite: Azurite) -> None:
    front = make_front()
    refused(front.get(f"{PATH}?{sas(EPOCH + timedelta(hours=2))}"),
            "Start [Mon, 02 Nov 2026 09:55:00 GMT] - Expiry [Mon, 02 Nov 2026 18:00:00 GMT] - Current "
            "[Mon, 02 Nov 2026 08:00:")
    assert journal_note(front).startswith("SAS refused: SAS not valid before 2026-11-02 09:55:00")
    assert azurite.requests == []


def test_a_sas_without_a_start_is_valid_until_its_expiry(make_front: MakeFront, azurite: Azurite) -> None:
    assert make_front(hours=7).get(f"{PATH}?{sas(start=None)}").status_code == 200
    assert "st" not in parse_qs(azurite.requests[0].url.query.decode())
    refused(make_front(hours=9).get(f"{PATH}?{sas(start=None)}"),
            "Signed expiry time [Mon, 02 Nov 2026 16:00:00 GMT] must be after signed start time [Mon, 02 Nov 2026 "
            "17:00:")


@pytest.mark.parametrize("tamper", [
    pytest.param(lambda q: with_field(q, "sig", ("A" if field(q, "sig")[0] != "A" else "B") + field(q, "sig")[1:]),
                 id="sig"),
    pytest.param(lambda q: with_field(q, "sp", "rw"), id="sp"),
    pytest.param(lambda q: with_field(q, "se", "2026-11-09T08:00:00Z"), id="se"),
    pytest.param(lambda q: sas(key=KEYS[OTHER]), id="another account's key"),
    pytest.param(lambda q: sas(blob="PS100011/other.wim"), id="another blob's SAS"),
])
def test_a_tampered_sas_is_refused(make_front: MakeFront, azurite: Azurite, tamper: Callable[[str], str]) -> None:
    front = make_front()
    detail = refused(front.get(f"{PATH}?{tamper(sas())}"), "Signature did not match. String to sign used was r")
    assert f"/blob/{ACCOUNT}{PATH}\n" in detail
    assert journal_note(front) == f"SAS refused: the signature does not match {ACCOUNT}'s key for this SAS"
    assert azurite.requests == []


@pytest.mark.parametrize(("query", "why"), [
    pytest.param(lambda: "sv=2026-10-06&ss=b&srt=sco&sp=r&se=2026-11-02T16%3A00%3A00Z&sig=x", "carries ss, srt",
                 id="account SAS"),
    pytest.param(lambda: "sv=2026-10-06&sr=b&sp=r&sig=x", "without se", id="no expiry"),
    pytest.param(lambda: sas(expiry="tomorrow"), "se='tomorrow' is not an ISO 8601 time", id="signed nonsense"),
    pytest.param(lambda: with_field(sas(), "sr", "bs"), "not sr=bs", id="snapshot SAS"),
    pytest.param(lambda: f"{sas()}&sig=x", "sig given more than once", id="two signatures"),
])
def test_a_sas_the_front_cannot_check_is_refused_not_passed_on(make_front: MakeFront, azurite: Azurite,
                                                               query: Callable[[], str], why: str) -> None:
    front = make_front()
    refused(front.get(f"{PATH}?{query()}"), "Signature fields not well formed.")
    assert why in journal_note(front)
    assert azurite.requests == []

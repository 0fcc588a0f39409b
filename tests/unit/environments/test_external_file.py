"""The external environment's file: what it accepts, how it refuses, and that credentials stay out of sight."""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.environments.base import CONTROL, FAULTS, Endpoints, ServiceEndpoint
from harness.environments.external import ControlToken, ExternalEnvironment
from harness.environments.external_config import load_external_file, parse_external
from harness.environments.external_writer import render_toml, write_external_file
from harness.model.units import Scale

PROJECT_ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = PROJECT_ROOT / "environments" / "external.example.toml"
SECRET = "s3cret-Value-that-must-not-show"
TOKEN_ENV = "LAB_CONTROL_TOKEN"
KEY_ENV = "LAB_ENROLLMENT_KEY"


def valid_data(folder: Path) -> dict[str, Any]:
    """A complete file for emulated services: control URLs everywhere and the network, so CONTROL and FAULTS."""
    for name in ("ca.pem", "enrollment-ca.pem"):
        (folder / name).write_text("-----BEGIN CERTIFICATE-----\n")

    def service(host: str, path: str = "/") -> dict[str, str]:
        return {"url": f"https://{host}:8443{path}", "address": "127.0.0.1", "control_url": f"https://{host}:9443/"}

    return {
        "scale": 5000, "site_code": "PS1", "ca": "ca.pem",
        "enrollment": {"cert": "enrollment-ca.pem", "key_path_env": KEY_ENV},
        "control": {"token_env": TOKEN_ENV},
        "services": {"mp": service("cm01.corp.contoso.example"),
                     "branch_dp": service("dp02.corp.contoso.example", "/SMS_DP_SMSPKG$/"),
                     "cmg": service("cmg.contoso.example", "/CCM_Proxy_MutualAuth/72186325152220500"),
                     "storage": service("contosocmgcontent.blob.core.example"),
                     "clouddp": service("contosocdp.cloudapp.example")},
        "network": {"url": "https://network.harness.example:7443/"},
        "extra_hosts": [{"hostname": "contosoclouddp.blob.core.example", "zone": "internet"}],
    }


def write(folder: Path, data: dict[str, Any]) -> Path:
    path = folder / "external.toml"
    path.write_text(render_toml(data), encoding="utf-8")
    return path


def refusal(folder: Path, data: dict[str, Any]) -> str:
    path = write(folder, data)
    with pytest.raises(ValueError) as caught:
        load_external_file(path)
    message = str(caught.value)
    assert str(path) in message, message
    return message


@pytest.fixture
def data(tmp_path: Path) -> dict[str, Any]:
    return valid_data(tmp_path)


@pytest.fixture
def secrets_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "enrollment-ca.key").write_text("-----BEGIN PRIVATE KEY-----\n")
    monkeypatch.setenv(TOKEN_ENV, SECRET)
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "enrollment-ca.key"))


# -- what a good file gives -------------------------------------------------------------------------------


def test_a_complete_file_gives_each_service_its_names_ports_and_zone(tmp_path: Path, data: dict[str, Any]) -> None:
    config = load_external_file(write(tmp_path, data))
    cmg, mp, network = config.services["cmg"], config.services["mp"], config.services["network"]
    assert (cmg.hostname, cmg.port, cmg.path, cmg.zone, cmg.control_port) == (
        "cmg.contoso.example", 8443, "/CCM_Proxy_MutualAuth/72186325152220500", "internet", 9443)
    assert (mp.zone, mp.control_base) == ("intranet", "https://cm01.corp.contoso.example:9443")
    assert (network.port, network.control_port, network.zone) == (7443, 7443, "control")
    assert config.extra_hosts == (("contosoclouddp.blob.core.example", "127.0.0.1", "internet"),)
    assert config.ca == tmp_path / "ca.pem"  # relative to the file's folder
    assert config.capabilities == {CONTROL, FAULTS}


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d.pop("network"), {CONTROL}),
    (lambda d: d["services"]["storage"].pop("control_url"), set()),
    (lambda d: d["services"].pop("clouddp"), set()),  # optional, but scenarios configure it when CONTROL
    (lambda d: [s.pop("control_url") for s in d["services"].values()], set()),
])
def test_capabilities_follow_the_control_urls_and_the_network(tmp_path: Path, data: dict[str, Any], change: Any,
                                                               expected: set[str]) -> None:
    change(data)
    assert load_external_file(write(tmp_path, data)).capabilities == expected


def test_a_real_lab_needs_no_control_url_network_or_credentials(tmp_path: Path, data: dict[str, Any]) -> None:
    for key in ("network", "control", "enrollment", "extra_hosts"):
        data.pop(key)
    data["services"] = {name: {"url": entry["url"], "address": "10.0.0.4"} for name, entry in data["services"].items()
                        if name in ("mp", "cmg", "storage")}
    data["scale"] = 1
    config = load_external_file(write(tmp_path, data))
    assert config.capabilities == frozenset() and config.secret_variables() == {}
    assert config.services["cmg"].control_port is None and config.services["cmg"].ip == "10.0.0.4"


def test_the_example_file_parses_as_a_lab_without_control(tmp_path: Path) -> None:
    valid_data(tmp_path)  # the certificate files the example's paths stand for
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["ca"], data["enrollment"]["cert"] = "ca.pem", "enrollment-ca.pem"
    config = parse_external(data, tmp_path / "external.example.toml")
    assert config.scale == 1 and config.capabilities == frozenset()
    assert set(config.services) >= {"mp", "cmg", "storage"}


def test_the_clock_is_read_with_its_time_zone(tmp_path: Path, data: dict[str, Any]) -> None:
    epoch = datetime(2026, 11, 2, 8, tzinfo=UTC)
    data["clock"] = {"real_epoch": 1700000000.25, "model_epoch": epoch}
    clock = load_external_file(write(tmp_path, data)).clock
    assert clock is not None and (clock.real_epoch, clock.model_epoch, clock.scale.factor) == (1700000000.25, epoch,
                                                                                                 5000)
    data["clock"]["model_epoch"] = datetime(2026, 11, 2, 8)
    assert "clock.model_epoch: must carry a time zone" in refusal(tmp_path, data)


def test_render_toml_round_trips(data: dict[str, Any]) -> None:
    data["clock"] = {"real_epoch": 1.5, "model_epoch": datetime(2026, 11, 2, 8, tzinfo=UTC)}
    data["services"]["mp"]["url"] = 'https://cm01.corp.contoso.example/"quoted"\\path'
    assert tomllib.loads(render_toml(data)) == data


# -- what a bad file gets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("keys", "named"), [
    (("scale",), "scale: missing"),
    (("site_code",), "site_code: missing"),
    (("ca",), "ca: missing"),
    (("services", "cmg"), "services.cmg: missing"),
    (("services", "mp", "url"), "services.mp.url: missing"),
    (("enrollment", "cert"), "enrollment.cert: missing"),
    (("enrollment", "key_path_env"), "enrollment.key_path_env: missing"),
    (("extra_hosts", 0, "hostname"), "extra_hosts[0].hostname: missing"),
])
def test_a_missing_key_is_named(tmp_path: Path, data: dict[str, Any], keys: tuple[Any, ...], named: str) -> None:
    *parents, last = keys
    table = data
    for key in parents:
        table = table[key]
    del table[last]
    assert named in refusal(tmp_path, data)


@pytest.mark.parametrize(("keys", "named"), [
    (("sclae",), "sclae"),
    (("services", "cmg", "contrl_url"), "services.cmg.contrl_url"),
    (("services", "proxy"), "services.proxy"),
    (("control", "token"), "control.token"),
])
def test_an_unknown_key_is_named_without_its_value(tmp_path: Path, data: dict[str, Any], keys: tuple[str, ...],
                                                   named: str) -> None:
    *parents, last = keys
    table = data
    for key in parents:
        table = table[key]
    table[last] = SECRET
    message = refusal(tmp_path, data)
    assert f"unknown key(s) {named}" in message and SECRET not in message


@pytest.mark.parametrize(("service", "key", "url", "problem"), [
    ("mp", "url", "http://cm01.corp.contoso.example/", "must be an https:// URL"),
    ("mp", "url", "https:///", "must be an https:// URL"),
    ("mp", "url", "cm01.corp.contoso.example", "must be an https:// URL"),
    ("mp", "url", "https://cm01.corp.contoso.example:99999/", "is not a URL"),
    ("mp", "url", "https://under_score.example/", "must be an https:// URL"),
    ("cmg", "url", "https://cmg.contoso.example/CCM_Proxy_ServerAuth/1", "/CCM_Proxy_MutualAuth/"),
    ("cmg", "control_url", "https://other.contoso.example:9443/", "the same host name"),
    ("cmg", "control_url", "https://cmg.contoso.example:9443/_harness", "the same host name"),
])
def test_a_bad_url_is_refused_with_its_key(tmp_path: Path, data: dict[str, Any], service: str, key: str, url: str,
                                           problem: str) -> None:
    data["services"][service][key] = url
    message = refusal(tmp_path, data)
    assert f"services.{service}.{key}: " in message and problem in message, message


def test_the_network_api_is_at_the_root(tmp_path: Path, data: dict[str, Any]) -> None:
    data["network"]["url"] = "https://network.harness.example:7443/toxiproxy"
    assert "network.url: the Toxiproxy API is served at the root" in refusal(tmp_path, data)


@pytest.mark.parametrize("url", [f"https://admin:{SECRET}@cmg.contoso.example/CCM_Proxy_MutualAuth/1",
                                 f"https://contosocmgcontent.blob.core.example/?sv=2024&sig={SECRET}",
                                 f"https://cmg.contoso.example/CCM_Proxy_MutualAuth/1#{SECRET}"])
def test_credentials_in_a_url_are_refused_and_not_repeated(tmp_path: Path, data: dict[str, Any], url: str) -> None:
    data["services"]["cmg"]["url"] = url
    message = refusal(tmp_path, data)
    assert "services.cmg.url: must not carry credentials" in message and SECRET not in message


@pytest.mark.parametrize("value", [SECRET, "lower_case_name", "1STARTS_WITH_DIGIT", "A" * 65])
def test_a_credential_key_takes_a_variable_name_never_a_value(tmp_path: Path, data: dict[str, Any],
                                                              value: str) -> None:
    data["control"]["token_env"] = value
    message = refusal(tmp_path, data)
    assert "control.token_env: must be the NAME of an environment variable" in message and value not in message


@pytest.mark.parametrize(("change", "named"), [
    (lambda d: d["services"]["mp"].update(address="cm01.corp"), "services.mp.address: must be an IP address"),
    (lambda d: d.update(scale=0.5), "scale: must be 1 or more"),
    (lambda d: d.update(scale="5000"), "scale: must be a number"),
    (lambda d: d.update(site_code="PS12"), "site_code: must be a three-character site code"),
    (lambda d: d.update(ca="missing.pem"), "ca: file"),
    (lambda d: d["extra_hosts"][0].update(zone="control"), "extra_hosts[0].zone: must be internet or intranet"),
    (lambda d: d["extra_hosts"].append({"hostname": "cmg.contoso.example", "address": "10.1.1.1"}),
     "host cmg.contoso.example is given two addresses"),
    (lambda d: d.update(client_agent={"allow_cloud_dp": "yes"}), "client_agent.allow_cloud_dp: must be true or false"),
])
def test_a_bad_value_is_refused_with_its_key(tmp_path: Path, data: dict[str, Any], change: Any, named: str) -> None:
    change(data)
    assert named in refusal(tmp_path, data)


def test_a_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    path = tmp_path / "external.toml"
    path.write_text("scale = \n")
    with pytest.raises(ValueError, match=rf"^{path}: not valid TOML"):
        load_external_file(path)


# -- the environment's checks, before anything starts -----------------------------------------------------


def test_a_different_scale_names_both(tmp_path: Path, data: dict[str, Any], secrets_set: None) -> None:
    path = write(tmp_path, data)
    with pytest.raises(ValueError, match=r"services run at scale 5000, but scale 50 was asked for") as caught:
        ExternalEnvironment(path, scale=50)
    assert str(path) in str(caught.value)
    assert ExternalEnvironment(path, scale=5000).model_scale == Scale(5000)


@pytest.mark.parametrize("unset", [TOKEN_ENV, KEY_ENV])
def test_a_missing_variable_is_named_with_what_it_must_hold(tmp_path: Path, data: dict[str, Any], secrets_set: None,
                                                            monkeypatch: pytest.MonkeyPatch, unset: str) -> None:
    monkeypatch.delenv(unset)
    with pytest.raises(ValueError, match=rf"names the environment variable {unset}, which is not set: set it to "):
        ExternalEnvironment(write(tmp_path, data))


def test_no_secret_in_the_environment_or_its_configuration(tmp_path: Path, data: dict[str, Any],
                                                           secrets_set: None) -> None:
    env = ExternalEnvironment(write(tmp_path, data))
    key_path = str(tmp_path / "enrollment-ca.key")
    for text in (repr(env), repr(env.config), str(vars(env))):
        assert SECRET not in text and key_path not in text
    assert env.config.secret_variables().keys() == {TOKEN_ENV, KEY_ENV}


# -- the control token --------------------------------------------------------------------------------------


def sent_headers(endpoints: Endpoints, url: str) -> httpx.Headers:
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: seen.append(request) or httpx.Response(200))
    with httpx.Client(transport=transport, auth=ControlToken(SECRET, endpoints)) as http:
        http.get(url)
    return seen[0].headers


@pytest.fixture
def endpoints() -> Endpoints:
    services = {"cmg": ServiceEndpoint("cmg", "cmg.contoso.example", 8443, "/CCM_Proxy_MutualAuth/1",
                                       control_port=9443),
                "client": ServiceEndpoint("client", "clients.harness.example", 6443, zone="control", control_port=6443),
                "network": ServiceEndpoint("network", "network.harness.example", 7443, zone="control",
                                           control_port=7443)}
    return Endpoints("external", Scale(5000), Path("ca.pem"), services)


@pytest.mark.parametrize(("url", "sent"), [
    ("https://cmg.contoso.example:9443/_harness/site/version", True),
    ("https://network.harness.example:7443/proxies", True),
    ("https://cmg.contoso.example:8443/CCM_Proxy_MutualAuth/1/CCM_STS", False),  # product traffic
    ("https://cmg.contoso.example:9443/CCM_Proxy_MutualAuth/1", False),  # not the control API, even on its port
    ("https://clients.harness.example:6443/_harness/reset", False),  # the harness's own agent
    ("https://contosocmgcontent.blob.core.example/content/PS100011/file", False),
])
def test_the_control_token_goes_to_control_apis_only(endpoints: Endpoints, url: str, sent: bool) -> None:
    headers = sent_headers(endpoints, url)
    assert (headers.get("authorization") == f"Bearer {SECRET}") is sent and ("authorization" in headers) is sent


def test_the_control_token_does_not_show_in_its_repr(endpoints: Endpoints) -> None:
    auth = ControlToken(SECRET, endpoints)
    assert SECRET not in repr(auth) and SECRET not in str(auth)


# -- writing a file for emulated services -------------------------------------------------------------------


@dataclass
class FakeTopology:
    site_code: str = "PS1"
    agent_fqdn: str = "clients.harness.example"
    allow_cloud_dp_default: bool = False


@dataclass
class FakeEmulated:
    """What write_external_file reads from a running local environment, without starting one."""

    endpoints: Endpoints
    workdir: Path
    topology: FakeTopology


def test_a_written_file_names_variables_and_holds_no_value(tmp_path: Path, data: dict[str, Any]) -> None:
    described = load_external_file(write(tmp_path, data))
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "enrollment-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    services = {**described.services,
                "client": ServiceEndpoint("client", "clients.harness.example", 6443, zone="control", control_port=6443)}
    env = FakeEmulated(Endpoints("local", Scale(5000), described.ca, services, described.extra_hosts), tmp_path,
                       FakeTopology())
    target = tmp_path / "written.toml"
    assignments = write_external_file(env, target, control_token_env=TOKEN_ENV)
    values = dict(line.split("=", 1) for line in assignments)
    text = target.read_text()
    assert values.keys() == {"CMG_HARNESS_ENROLLMENT_KEY", TOKEN_ENV}
    assert values["CMG_HARNESS_ENROLLMENT_KEY"] == str(tmp_path / "pki" / "enrollment-ca.key")
    assert all(value not in text for value in values.values())
    written = load_external_file(target)
    assert written.services == described.services and written.capabilities == {CONTROL, FAULTS}
    assert written.allow_cloud_dp is False and written.control_token_env == TOKEN_ENV
    assert "client" not in written.services  # the agent is always the harness's own, never in the file


def test_a_copy_of_the_data_is_not_changed_by_loading(tmp_path: Path, data: dict[str, Any]) -> None:
    before = copy.deepcopy(data)
    parse_external(data, tmp_path / "external.toml")
    assert data == before

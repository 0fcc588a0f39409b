"""The services' configurations: what the environment builds survives its JSON form unchanged, and a configuration
that does not fit its service is refused at start, naming the service and the field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.environments.azurite import generate_account_key
from harness.environments.emulated import PYTHON_SERVICES
from harness.environments.local import LocalEnvironment
from harness.net.tls import TestPKI
from harness.service.configs import (
    CONFIGS,
    ConfigError,
    NetworkServiceConfig,
    ServiceConfigs,
    SiteServiceConfig,
)


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> ServiceConfigs:
    """What a local environment would hand its processes (never started: only the configurations are made)."""
    workdir = tmp_path_factory.mktemp("configs")
    env = LocalEnvironment(clock_mode="virtual")
    pki = TestPKI.create(workdir / "pki")
    endpoints = env.endpoints_for({name: 9 for name in PYTHON_SERVICES}, pki.ca_cert_path)
    keys = {env.topology.cmg_account: generate_account_key(), env.topology.clouddp_account: generate_account_key()}
    return env.service_configs(endpoints, pki, workdir, keys, azurite_port=9, authority_port=9)


@pytest.mark.parametrize("service", sorted(CONFIGS))
def test_a_configuration_reads_back_from_its_json_form_unchanged(configs: ServiceConfigs, service: str) -> None:
    config = configs[service]
    text = json.dumps(config.to_json())
    assert type(config).from_json(json.loads(text)) == config


def test_the_json_form_is_plain_json_and_leaves_out_what_is_not_set(configs: ServiceConfigs) -> None:
    site = configs.site.to_json()
    assert site["clock"]["mode"] == "virtual"
    assert site["cloud_sources"][0]["storage"]["name"] == "contosocmgcontent"
    assert "https_dps" in site and "authority" not in configs.network.to_json()


def _site(configs: ServiceConfigs, **changes: Any) -> dict[str, Any]:
    return {**configs.site.to_json(), **changes}


@pytest.mark.parametrize(("change", "words"), [
    ({"mp_port": "443"}, ['site configuration', 'field "mp_port"', 'should be "int"']),
    ({"site_cod": "PS1"}, ['site configuration', '"site_cod"']),
    ({"clock": "now"}, ['site configuration', 'clock must be a JSON object']),
    ({"tls": None}, ['site configuration', 'missing value for tls']),
    ({"cloud_sources": [{"name": "cmg", "kind": "cmg", "fqdn": "cmg.example", "port": 443}]},
     ['site configuration', 'missing value for field "cloud_sources.storage"']),
], ids=["wrong-type", "misspelt", "clock-not-an-object", "needed-but-none", "nested-missing"])
def test_a_configuration_that_does_not_fit_is_refused_naming_the_field(configs: ServiceConfigs,
                                                                         change: dict[str, Any],
                                                                         words: list[str]) -> None:
    with pytest.raises(ConfigError) as refused:
        SiteServiceConfig.from_json(_site(configs, **change))
    for word in words:
        assert word in str(refused.value)


def test_a_missing_field_is_named() -> None:
    with pytest.raises(ConfigError, match='site configuration: missing value for field "site_code"'):
        SiteServiceConfig.from_json({"key": "00", "version": 2403, "mp_fqdn": "cm01", "mp_port": 443})


def test_a_configuration_must_be_an_object() -> None:
    with pytest.raises(ConfigError, match="network configuration must be a JSON object, got list"):
        NetworkServiceConfig.from_json([])


def test_the_served_process_exits_naming_the_field_it_cannot_use(configs: ServiceConfigs, tmp_path: Path) -> None:
    path = tmp_path / "site.json"
    path.write_text(json.dumps(_site(configs, mp_port="443")), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "harness.service.serve", "site", "--config", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert f"cannot read the site configuration from {path}" in done.stderr
    assert 'field "mp_port"' in done.stderr
    assert "Traceback" not in done.stderr

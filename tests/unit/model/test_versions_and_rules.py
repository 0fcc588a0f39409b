import pytest

from harness.model.deployment import Deployment, DeploymentOption, LaunchMode, option_from_remote_client_flags
from harness.model.rules import internet_refusal, option_hidden_reason, ts_engine_uses_cloud_sources
from harness.model.versions import SiteVersion

ON_DEMAND = DeploymentOption.DOWNLOAD_ON_DEMAND


def deployment(option: DeploymentOption = ON_DEMAND, allow_internet: bool = True) -> Deployment:
    return Deployment("PS120001", "PS100010", option=option, allow_internet=allow_internet)


def test_version_parse_and_build() -> None:
    assert SiteVersion.parse("1910").build == 8913
    assert SiteVersion.parse(2107).product_version == "5.00.9058.1000"
    assert SiteVersion.from_build(8913) == SiteVersion(1910)
    with pytest.raises(ValueError, match="unknown Configuration Manager version 1905"):
        SiteVersion.parse("1905")
    with pytest.raises(ValueError, match="not a Configuration Manager version"):
        SiteVersion.parse("nineteen-ten")


@pytest.mark.parametrize(("release", "on_demand"), [(1802, False), (1906, False), (1910, True), (2107, True)])
def test_engine_downloads_cloud_content_from_1910(release: int, on_demand: bool) -> None:
    assert ts_engine_uses_cloud_sources(SiteVersion(release)) is on_demand


def test_content_enabled_cmg_from_1806() -> None:
    assert not SiteVersion(1802).content_enabled_cmg
    assert SiteVersion(1806).content_enabled_cmg


def test_intranet_only_deployment_is_refused_on_the_internet() -> None:
    reason = internet_refusal(deployment(allow_internet=False), LaunchMode.SOFTWARE_CENTER, SiteVersion(1910))
    assert reason is not None and "Allow task sequence to run for client on the Internet" in reason


@pytest.mark.parametrize("launch", [LaunchMode.PXE, LaunchMode.MEDIA, LaunchMode.WINDOWS_PE])
def test_non_software_center_starts_are_refused_before_2010(launch: LaunchMode) -> None:
    reason = internet_refusal(deployment(), launch, SiteVersion(2006))
    assert reason is not None and "not supported over a cloud management gateway" in reason


def test_boot_media_over_cmg_from_2010_needs_on_demand() -> None:
    assert internet_refusal(deployment(), LaunchMode.MEDIA, SiteVersion(2010)) is None
    reason = internet_refusal(deployment(DeploymentOption.DOWNLOAD_ALL), LaunchMode.MEDIA, SiteVersion(2010))
    assert reason is not None and "only" in reason
    assert internet_refusal(deployment(), LaunchMode.PXE, SiteVersion(2107)) is not None


def test_software_center_start_is_allowed() -> None:
    assert internet_refusal(deployment(), LaunchMode.SOFTWARE_CENTER, SiteVersion(1802)) is None


def test_options_round_trip_through_remote_client_flags() -> None:
    for option in DeploymentOption:
        assert option_from_remote_client_flags(option.remote_client_flags) is option
    with pytest.raises(ValueError, match="RemoteClientFlags"):
        option_from_remote_client_flags(0)


def test_option_parse_accepts_console_words_and_refuses_others() -> None:
    assert DeploymentOption.parse('"Download all content locally before starting task sequence"') \
        is DeploymentOption.DOWNLOAD_ALL
    with pytest.raises(ValueError, match="unknown deployment option 'Stream it'"):
        DeploymentOption.parse("Stream it")


def test_download_all_hidden_for_media_and_pxe() -> None:
    assert option_hidden_reason(DeploymentOption.DOWNLOAD_ALL, available_to_media_or_pxe=True)
    assert option_hidden_reason(ON_DEMAND, available_to_media_or_pxe=True) is None

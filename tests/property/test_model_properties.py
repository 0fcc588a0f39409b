"""Properties of the model that hold for any input Hypothesis can find."""

from hypothesis import given
from hypothesis import strategies as st

from harness.model.content import content_bytes
from harness.model.deployment import Deployment, DeploymentOption, LaunchMode
from harness.model.rules import internet_refusal
from harness.model.units import Scale, parse_size
from harness.model.versions import BUILD_NUMBERS, SiteVersion

versions = st.sampled_from(sorted(BUILD_NUMBERS)).map(SiteVersion)


@given(st.integers(1, 10**13), st.floats(1, 1e6))
def test_physical_size_is_positive_and_never_exceeds_model_size(model: int, factor: float) -> None:
    physical = Scale(factor).physical_bytes(model)
    assert 1 <= physical <= model


@given(st.floats(0, 1e7), st.floats(1, 1e6))
def test_time_scaling_round_trips(model_seconds: float, factor: float) -> None:
    scale = Scale(factor)
    assert abs(scale.model_seconds(scale.real_seconds(model_seconds)) - model_seconds) <= 1e-6 * max(1, model_seconds)


@given(st.integers(0, 10**6), st.sampled_from(["B", "KB", "MB", "GB"]))
def test_parse_size_of_whole_numbers(number: int, unit: str) -> None:
    factor = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9}[unit]
    assert parse_size(f"{number} {unit}") == number * factor


@given(st.text(alphabet="ABCDEF0123456789", min_size=5, max_size=5), st.integers(1, 5), st.integers(1, 5000))
def test_content_prefix_is_stable(suffix: str, version: int, size: int) -> None:
    package_id = f"PS1{suffix}"
    assert content_bytes(package_id, version, size) == content_bytes(package_id, version, size + 100)[:size]


@given(versions, st.sampled_from(list(LaunchMode)), st.sampled_from(list(DeploymentOption)), st.booleans())
def test_internet_refusal_matches_the_documented_table(version: SiteVersion, launch: LaunchMode,
                                                      option: DeploymentOption, allow_internet: bool) -> None:
    """A reference restatement of B-07, B-08, B-50, B-51, written independently of rules.py."""
    reason = internet_refusal(Deployment("PS120001", "PS100010", option=option, allow_internet=allow_internet),
                              launch, version)
    allowed = allow_internet and (
        launch is LaunchMode.SOFTWARE_CENTER
        or (launch is LaunchMode.MEDIA and version.release >= 2010 and option is DeploymentOption.DOWNLOAD_ON_DEMAND))
    assert (reason is None) is allowed

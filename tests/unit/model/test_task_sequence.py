import pytest

from harness.model.content import content_bytes, content_sha256, iter_content
from harness.model.task_sequence import Package, PackageType, Step, StepAction, TaskSequence

OS = Package("PS100011", "Windows 11", 3_200_000_000, kind=PackageType.OS_UPGRADE)
SCRIPTS = Package("PS100013", "Scripts", 20_000_000)


def test_referenced_packages_follow_step_order() -> None:
    ts = TaskSequence("PS100010", "Upgrade", (
        Step("Scripts first", StepAction.RUN_COMMAND_LINE, "PS100013"),
        Step("Upgrade", StepAction.UPGRADE_OS, "PS100011"),
        Step("Scripts again", StepAction.RUN_COMMAND_LINE, "PS100013"),
    ), {"PS100011": OS, "PS100013": SCRIPTS})
    assert [p.package_id for p in ts.referenced_packages] == ["PS100013", "PS100011"]


def test_undefined_package_is_named() -> None:
    with pytest.raises(ValueError, match="references package PS1000FF, which is not defined"):
        TaskSequence("PS100010", "Upgrade", (Step("x", StepAction.RUN_COMMAND_LINE, "PS1000FF"),), {})


@pytest.mark.parametrize("bad", ["PS10001", "ps100011", "PS10001G", "TOOLONG123"])
def test_package_ids_must_look_like_configmgr_ids(bad: str) -> None:
    with pytest.raises(ValueError, match="not a ConfigMgr package ID"):
        Package(bad, "x", 1)


def test_unknown_step_action_lists_known_ones() -> None:
    with pytest.raises(ValueError, match="Upgrade Operating System"):
        StepAction.parse("Reinstall Windows")


def test_content_is_deterministic_and_chunked() -> None:
    size = 3 * 2**20 + 5
    whole = content_bytes("PS100011", 1, size)
    assert len(whole) == size
    assert b"".join(iter_content("PS100011", 1, size)) == whole
    assert content_bytes("PS100011", 2, 64) != whole[:64]
    assert content_sha256("PS100011", 1, size) == content_sha256("PS100011", 1, size)

"""A failed step is reported by its words first, then its message, then the project's frames that raised it."""

import pytest

from harness.reporting.step_failures import step_first


def _failing_step() -> None:
    raise AssertionError("PS100161 came from the CMG (cmg.contoso.example), not the cloud distribution point")


def test_the_step_and_its_message_come_before_the_frames() -> None:
    with pytest.raises(AssertionError) as excinfo:
        _failing_step()
    text = step_first("Then every package is downloaded from the cloud distribution point  (features/x.feature:9)",
                      excinfo)
    lines = text.splitlines()
    assert lines[0] == ("Step failed: Then every package is downloaded from the cloud distribution point  "
                        "(features/x.feature:9)")
    assert lines[2].startswith("AssertionError: PS100161 came from the CMG (cmg.contoso.example)")
    here = "  tests/unit/test_step_failures.py"
    assert lines[-2:] == [f"{here}:14 in test_the_step_and_its_message_come_before_the_frames",
                          f"{here}:9 in _failing_step"]


def test_a_message_less_error_still_says_what_it_was() -> None:
    with pytest.raises(KeyError) as excinfo:
        {}["run"]
    assert "KeyError: 'run'" in step_first("When the user installs the deployment from Software Center", excinfo)

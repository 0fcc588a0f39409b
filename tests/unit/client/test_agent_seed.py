"""The agent's `seed` for a client: a whole number, so that a scenario's draws repeat."""

from __future__ import annotations

from typing import Any

import pytest

from harness.client.agent import _seed
from harness.service.control import HttpError


@pytest.mark.parametrize("value", [0, 3, 2**63 - 1])
def test_a_seed_is_a_whole_number(value: int) -> None:
    assert _seed(value) == value


@pytest.mark.parametrize("value", [-1, 2**63, "3", 1.5, True, None, [3]])
def test_anything_else_is_refused_naming_the_field(value: Any) -> None:
    with pytest.raises(HttpError, match="'seed' must be a whole number") as refused:
        _seed(value)
    assert refused.value.status == 400

"""How the contract tests read a refusal: the status, and the words of the reason every service gives in its
X-Harness-Reason header (or body)."""

from __future__ import annotations

from typing import Any


def assert_refused(response: Any, status: int, *words: str) -> None:
    """The status, and every word in the reason (X-Harness-Reason header or body)."""
    reason = f"{response.headers.get('x-harness-reason', '')} {response.text}"
    assert response.status_code == status, reason
    for word in words:
        assert word in reason, reason

"""What the protocol property tests share: their Hypothesis settings and a client's signing identity."""

import functools
from datetime import UTC, datetime

from hypothesis import settings

from harness.client.identity import SigningIdentity, new_signing_identity

FAST = settings(max_examples=60, deadline=None, database=None)


@functools.cache
def signing_identity() -> SigningIdentity:
    return new_signing_identity("CLIENT01", datetime(2026, 11, 2, tzinfo=UTC))

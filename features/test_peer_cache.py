"""Binds peer_cache.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("peer_cache.feature")

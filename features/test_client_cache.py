"""Binds client_cache.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("client_cache.feature")

"""Binds content_cache.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("content_cache.feature")

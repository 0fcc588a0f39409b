"""Binds fallback_and_retry.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("fallback_and_retry.feature")

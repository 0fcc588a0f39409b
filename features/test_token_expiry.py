"""Binds token_expiry.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("token_expiry.feature")

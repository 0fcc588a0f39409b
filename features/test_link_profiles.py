"""Binds link_profiles.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("link_profiles.feature")

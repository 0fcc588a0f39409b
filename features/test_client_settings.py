"""Binds client_settings.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("client_settings.feature")

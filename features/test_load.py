"""Binds load.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("load.feature")

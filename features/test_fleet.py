"""Binds fleet.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("fleet.feature")

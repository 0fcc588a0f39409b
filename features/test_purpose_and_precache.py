"""Binds purpose_and_precache.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("purpose_and_precache.feature")

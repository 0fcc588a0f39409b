"""Binds fleet_documented_test.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("fleet_documented_test.feature")

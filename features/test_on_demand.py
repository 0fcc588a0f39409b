"""Binds on_demand.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("on_demand.feature")

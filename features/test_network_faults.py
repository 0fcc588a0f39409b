"""Binds network_faults.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("network_faults.feature")

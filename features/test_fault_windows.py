"""Binds fault_windows.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("fault_windows.feature")

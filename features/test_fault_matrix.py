"""Binds fault_matrix.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("fault_matrix.feature")

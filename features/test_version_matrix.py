"""Binds version_matrix.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("version_matrix.feature")

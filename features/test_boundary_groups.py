"""Binds boundary_groups.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("boundary_groups.feature")

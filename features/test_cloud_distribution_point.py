"""Binds cloud_distribution_point.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("cloud_distribution_point.feature")

"""Binds deployment_options.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("deployment_options.feature")

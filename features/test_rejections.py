"""Binds rejections.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("rejections.feature")

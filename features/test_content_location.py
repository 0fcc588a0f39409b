"""Binds content_location.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("content_location.feature")

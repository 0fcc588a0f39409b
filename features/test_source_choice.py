"""Binds source_choice.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("source_choice.feature")

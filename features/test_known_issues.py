"""Binds known_issues.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("known_issues.feature")

"""Binds client_logs.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("client_logs.feature")

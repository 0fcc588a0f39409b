"""Binds download_all.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("download_all.feature")

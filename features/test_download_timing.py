"""Binds download_timing.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("download_timing.feature")

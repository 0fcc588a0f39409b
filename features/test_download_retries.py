"""Binds download_retries.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("download_retries.feature")

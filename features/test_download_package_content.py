"""Binds download_package_content.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("download_package_content.feature")

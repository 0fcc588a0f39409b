"""Binds task_sequence_steps.feature; its steps live in steps/."""

from pytest_bdd import scenarios

scenarios("task_sequence_steps.feature")

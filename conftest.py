"""Root conftest: the step library and the harness's pytest plugins, for every test under this tree."""

pytest_plugins = [
    "harness.reporting.pytest_plugin",  # first: step modules import it
    "harness.reporting.step_failures",
    "harness.reporting.bdd_xdist",
    "steps.fixtures",
    "steps.given_site",
    "steps.given_client",
    "steps.when_run",
    "steps.then_outcome",
    "steps.then_steps_and_content",
    "steps.given_faults",
    "steps.given_network",
    "steps.then_sources",
    "steps.then_timing",
    "steps.then_network",
    "steps.then_logs",
    "steps.load",
    "steps.fleet",
]

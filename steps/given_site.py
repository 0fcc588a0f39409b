"""Given steps about the site: version, CMG, packages, task sequence, distribution, deployment."""

from __future__ import annotations

from pytest_bdd import given, parsers

from harness.drivers.site import SiteDriver
from steps.fixtures import TaskSequenceSpec
from steps.tables import table_rows

# What scenarios call the content sources -> the site's names for them.
SOURCES = {
    "the CMG": ["cmg"],
    "the on-premises distribution point only": ["dp"],
    "the on-premises distribution point": ["dp"],
    "the CMG and the on-premises distribution point": ["cmg", "dp"],
}
DEPLOYMENT_ID = "PS120001"


@given(parsers.parse("the site runs Configuration Manager version {version:d}"))
def site_version(site: SiteDriver, version: int) -> None:
    """Sets the site's version; the client learns it from the management point (site information)."""
    site.set_version(version)


@given("the CMG serves content from Azure storage")
def cmg_serves_content(site: SiteDriver) -> None:
    """Turns on "Allow CMG to function as a cloud distribution point and serve content from Azure storage"."""
    site.set_serve_content("cmg", True)


@given(parsers.parse("the in-place upgrade task sequence {package_id} references these packages:"),
       target_fixture="task_sequence")
def packages_defined(site: SiteDriver, package_id: str, datatable: list[list[str]]) -> TaskSequenceSpec:
    """Defines the packages (model sizes; type sets the content file name) of the task sequence."""
    spec = TaskSequenceSpec(package_id)
    for row in table_rows(datatable):
        site.define_package(row["package"], row["name"], row["size"], kind=row.get("type", "Package"))
        spec.packages[row["package"]] = row["name"]
    return spec


@given("the task sequence has these steps:")
def steps_defined(site: SiteDriver, task_sequence: TaskSequenceSpec, datatable: list[list[str]]) -> None:
    """Defines the task sequence's steps in order; duration is model time the step runs once its content is there."""
    for row in table_rows(datatable):
        task_sequence.steps.append({"name": row["step"], "action": row["action"],
                                    "package": row.get("package") or None, "duration": row.get("duration") or 0})
    site.define_task_sequence(task_sequence.package_id, task_sequence.name, task_sequence.steps)


@given(parsers.parse("the packages are distributed to {target}"))
def packages_distributed(site: SiteDriver, task_sequence: TaskSequenceSpec, target: str) -> None:
    """Distributes every package of the task sequence; cloud sources get real blobs in their storage account."""
    if target not in SOURCES:
        raise ValueError(f"unknown distribution target {target!r}; use one of: {', '.join(SOURCES)}")
    for package_id in task_sequence.packages:
        site.distribute(package_id, *SOURCES[target])


@given(parsers.re(r'the task sequence is deployed as (?P<purpose>Available|Required) with "(?P<option>[^"]+)"'
                  r"(?P<intranet_only> but not allowed to run for clients on the internet)?$"))
def deployed(site: SiteDriver, task_sequence: TaskSequenceSpec, purpose: str, option: str,
             intranet_only: str | None) -> None:
    """Deploys the task sequence with a Distribution Points option; "but not allowed…" clears the internet flag."""
    site.deploy(DEPLOYMENT_ID, task_sequence.package_id, option=option, purpose=purpose,
                allow_internet=not intranet_only)
    task_sequence.deployment_id = DEPLOYMENT_ID

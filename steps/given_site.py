"""Given steps about the site: version, CMG, packages, task sequence, distribution, deployment."""

from __future__ import annotations

from pytest_bdd import given, parsers

from harness.drivers.clouddp import CloudDpDriver
from harness.drivers.site import SiteDriver
from harness.environments.base import Endpoints
from steps.fixtures import TaskSequenceSpec
from steps.tables import table_rows
from steps.vocabulary import TARGETS

YES = {"yes", "true"}
NO = {"no", "false"}
DEPLOYMENT_ID = "PS120001"


def _define(site: SiteDriver, package_id: str, row: dict[str, str]) -> None:
    site.define_package(package_id, row["name"], row["size"], kind=row.get("type", "Package"),
                        package_share=row.get("package share", "").lower() in YES)


@given(parsers.parse("the site runs Configuration Manager version {version:d}"))
def site_version(site: SiteDriver, version: int) -> None:
    """Sets the site's version; the client learns it from the management point (site information)."""
    site.set_version(version)


@given(parsers.parse("a cloud distribution point created on site version {version:d}"))
def cloud_dp_created(site: SiteDriver, version: int) -> None:
    """Creates the classic cloud DP while the site runs that version (it keeps working after upgrades)."""
    site.set_version(version)
    site.create_cloud_dp()


@given("the cloud distribution point is stopped")
def cloud_dp_stopped(clouddp: CloudDpDriver) -> None:
    """Stopped in the console: the management point still returns it as a content source (B-23)."""
    clouddp.set_stopped(True)


# Distribution points by the server name a boundary-group table uses.
DP_SERVERS = {"CM01": "dp", "DP02": "dp2"}


@given("these boundary groups:")
def boundary_groups(site: SiteDriver, datatable: list[list[str]]) -> None:
    """Boundary groups by AD site, with their DPs (CM01, DP02), neighbours, "prefer cloud sources" and "peer
    downloads" (allowed unless the column says no); define a neighbour before the group that falls back to it."""
    for row in table_rows(datatable):
        servers = [s.strip() for s in row.get("distribution points", "").split(",") if s.strip()]
        unknown = [s for s in servers if s not in DP_SERVERS]
        if unknown:
            raise ValueError(f"unknown distribution point(s) {unknown}; use {', '.join(DP_SERVERS)}")
        site.define_boundary_group(row["boundary group"], boundaries=[row["ad site"]],
                                   distribution_points=[DP_SERVERS[s] for s in servers],
                                   neighbors=[n.strip() for n in row.get("neighbors", "").split(",") if n.strip()],
                                   prefer_cloud=row.get("prefer cloud", "").lower() in YES,
                                   peer_downloads=_yes_unless_no(row.get("peer downloads", ""), "peer downloads"))


def _yes_unless_no(cell: str, column: str) -> bool:
    """A column whose blank means yes, as the console's default does."""
    value = cell.strip().lower() or "yes"
    if value not in YES | NO:
        raise ValueError(f"the {column!r} column says yes or no, not {cell!r}")
    return value in YES


@given(parsers.re(r"a peer cache source in AD site (?P<ad_site>[\w.-]+) has the packages in its cache$"))
def peer_cache_source(site: SiteDriver, endpoints: Endpoints, task_sequence: TaskSequenceSpec, ad_site: str) -> None:
    """The environment's peer cache source (a client whose setting "Enable as peer cache source" is Yes) is in
    that AD site, and its cache holds every package of the task sequence, as it has reported to the site."""
    name = endpoints["peer"].hostname.split(".")[0].upper()
    site.declare_peer_cache_source(name, ad_site=ad_site, packages=list(task_sequence.packages))


@given(parsers.re(r"the CMG (?P<does>serves|does not serve) content from Azure storage$"))
def cmg_serves_content(site: SiteDriver, does: str) -> None:
    """Turns "Allow CMG to function as a cloud distribution point and serve content from Azure storage" on or
    off; content already in its storage account stays there."""
    site.set_serve_content("cmg", does == "serves")


@given(parsers.parse("the in-place upgrade task sequence {package_id} references these packages:"),
       target_fixture="task_sequence")
def packages_defined(site: SiteDriver, package_id: str, datatable: list[list[str]]) -> TaskSequenceSpec:
    """Defines the packages (model sizes; type sets the content file name; optional column "package share")."""
    spec = TaskSequenceSpec(package_id)
    for row in table_rows(datatable):
        _define(site, row["package"], row)
        spec.packages[row["package"]] = row
    return spec


@given("the task sequence has these groups:")
def groups_defined(task_sequence: TaskSequenceSpec, datatable: list[list[str]]) -> None:
    """Settings of the groups the step table names: Continue on error, and a condition such as VAR=value."""
    for row in table_rows(datatable):
        settings: dict[str, object] = {"continue_on_error": row.get("continue on error", "").lower() in YES}
        if row.get("condition"):
            settings["condition"] = row["condition"]
        task_sequence.groups[row["group"]] = settings


@given("the task sequence has these steps:")
def steps_defined(site: SiteDriver, task_sequence: TaskSequenceSpec, datatable: list[list[str]]) -> None:
    """Defines the steps in order (see steps/task_sequence_table.py for the optional columns); duration is
    model time the step runs once its content is there."""
    task_sequence.step_rows = table_rows(datatable)
    task_sequence.publish(site)


@given(parsers.parse("the task sequence variable {variable} is {value}"))
def ts_variable(site: SiteDriver, task_sequence: TaskSequenceSpec, variable: str, value: str) -> None:
    """A task sequence variable set before the run (e.g. SMSTSPersistContent, SMSTSDownloadRetryCount)."""
    task_sequence.variables[variable] = value
    task_sequence.publish(site)


@given(parsers.parse("the packages are distributed to {target}"))
def packages_distributed(site: SiteDriver, task_sequence: TaskSequenceSpec, target: str) -> None:
    """Distributes every package of the task sequence; cloud sources get real blobs in their storage account."""
    for package_id in task_sequence.packages:
        site.distribute(package_id, *TARGETS(target))


@given(parsers.parse("the task sequence uses boot image {boot_image}"))
def uses_boot_image(site: SiteDriver, task_sequence: TaskSequenceSpec, boot_image: str) -> None:
    """The task sequence has a boot image (it restarts into Windows PE), like a wipe-and-load."""
    task_sequence.boot_image = boot_image
    task_sequence.publish(site)


@given(parsers.parse("the package {package_id} is distributed to {target}"))
def package_distributed(site: SiteDriver, package_id: str, target: str) -> None:
    """Distributes one package (the others stay where they are)."""
    site.distribute(package_id, *TARGETS(target))


@given("the CMG uses a third-party server certificate")
def cmg_third_party_certificate(site: SiteDriver) -> None:
    """The CMG's certificate names its service name only, as one bought from a public provider."""
    site.set_third_party_certificate("cmg", True)


@given(parsers.parse("the copy of {package_id} on {target} is damaged"))
def copy_damaged(site: SiteDriver, package_id: str, target: str) -> None:
    """The stored bytes no longer match the package hash the management point hands out."""
    site.damage(package_id, *TARGETS(target))


@given(parsers.re(r'the task sequence is deployed as (?P<purpose>Available|Required) with "(?P<option>[^"]+)"'
                  r"(?P<pre_download> and pre-download)?"
                  r"(?P<intranet_only> but not allowed to run for clients on the internet)?$"))
def deployed(site: SiteDriver, task_sequence: TaskSequenceSpec, purpose: str, option: str,
             pre_download: str | None, intranet_only: str | None) -> None:
    """Deploys with a Distribution Points option; "and pre-download" sets "Pre-download content for this task
    sequence"; "but not allowed…" clears "Allow task sequence to run for client on the Internet"."""
    site.deploy(DEPLOYMENT_ID, task_sequence.package_id, option=option, purpose=purpose,
                allow_internet=not intranet_only, pre_download=bool(pre_download))
    task_sequence.deployment_id, task_sequence.option = DEPLOYMENT_ID, option

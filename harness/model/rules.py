"""The documented rules that decide whether an internet task sequence may start and where its content may come from.

Pure functions over the model: the client agent and the site emulator both call them, and the
property tests check them against the tables of docs/behaviour.md.
"""

from __future__ import annotations

from harness.model.deployment import Deployment, DeploymentOption, LaunchMode, Purpose, Trigger
from harness.model.task_sequence import TaskSequence
from harness.model.versions import SiteVersion


def internet_refusal(deployment: Deployment, launch: LaunchMode, version: SiteVersion, *,
                     boot_image: bool = False) -> str | None:
    """Why a client that is currently on the internet must not start this deployment, or None.

    B-07, B-08, B-50, B-51: the deployment must allow internet clients; only Software Center
    starts are supported, except site-based boot media over the CMG from 2010 with on-demand download.
    """
    if not deployment.allow_internet:
        return (f'The deployment {deployment.deployment_id} does not have "Allow task sequence to run for '
                "client on the Internet\" set (AdvertFlags APTSINTRANETONLY 0x00080000): it cannot run "
                "while the client is on the internet")
    if launch is LaunchMode.SOFTWARE_CENTER:
        if boot_image and not version.boot_image_ts_from_software_center:
            return (f"A task sequence with a boot image is not supported over a cloud management gateway on site "
                    f"version {version}, even from Software Center (version 2006 and later)")
        return None
    if launch is LaunchMode.MEDIA and version.boot_media_via_cmg:
        if deployment.option is DeploymentOption.DOWNLOAD_ON_DEMAND:
            return None
        return ("Boot media over a cloud management gateway supports only "
                f'"{DeploymentOption.DOWNLOAD_ON_DEMAND.value}" (version 2010 and later)')
    return (f"A task sequence started from {launch.label} is not supported over a cloud management "
            f"gateway on site version {version}: start it from Software Center")


def trigger_refusal(deployment: Deployment, trigger: Trigger) -> str | None:
    """Why execmgr does not act on this trigger, or None: only Required deployments have a deadline, only
    pre-download deployments pre-cache (B-42, B-43)."""
    if trigger is Trigger.DEADLINE and deployment.purpose is not Purpose.REQUIRED:
        return (f"Deployment {deployment.deployment_id} is Available: it has no deadline and runs only when the user "
                "starts it from Software Center")
    if trigger is Trigger.PRECACHE and not deployment.pre_download:
        return (f'Deployment {deployment.deployment_id} does not have "Pre-download content for this task sequence" '
                "set: nothing is pre-cached")
    return None


def ts_engine_uses_cloud_sources(version: SiteVersion) -> bool:
    """Whether the task sequence engine itself asks for and uses cloud content locations (1910, B-04).

    [INFERENCE] Before 1910 the engine "is currently unable to obtain content from a cloud
    distribution point" (B-01); the harness models this as the engine sending UseAzure="0", so the
    management point returns no cloud location and the step fails with 0x80040102.
    """
    return version.ts_engine_downloads_cloud_content


def deployment_problems(deployment: Deployment, ts: TaskSequence) -> list[str]:
    """What the console would not let an administrator deploy (B-43, B-52, B-53)."""
    problems = []
    hidden = option_hidden_reason(deployment.option, deployment.available_to.media_or_pxe)
    if hidden:
        problems.append(hidden)
    if ts.has_download_package_content and deployment.option is not DeploymentOption.DOWNLOAD_ON_DEMAND:
        problems.append(f"task sequence {ts.package_id} has a Download Package Content step: don't deploy it with "
                        f'"{deployment.option.value}" (B-53)')
    if deployment.option is DeploymentOption.ACCESS_DIRECTLY:
        no_share = [p.package_id for p in ts.referenced_packages if not p.package_share]
        if no_share:
            problems.append(f'"{deployment.option.value}" is offered only when every package has a package share; '
                            f"{', '.join(no_share)} has none")
    if deployment.pre_download and deployment.purpose is not Purpose.AVAILABLE:
        problems.append('"Pre-download content for this task sequence" is only for Available deployments (B-43)')
    return problems


def option_hidden_reason(option: DeploymentOption, available_to_media_or_pxe: bool) -> str | None:
    """The console hides "download all" when the deployment is available to media/PXE (B-52)."""
    if available_to_media_or_pxe and option is DeploymentOption.DOWNLOAD_ALL:
        return (f'"{option.value}" is not offered when the deployment is made available to '
                "boot media and PXE")
    return None

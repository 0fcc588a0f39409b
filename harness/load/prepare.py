"""Gets an environment ready for a load and writes its target: a package distributed to the CMG, an upgrade task
sequence that uses it, an available deployment that allows internet clients, and a site-issued token for each
client (token clients), all through the site's control API. An environment without one (a real lab) needs the
package named and PKI clients' enrollment CA given instead."""

from __future__ import annotations

from pathlib import Path

from harness.drivers.site import SiteDriver
from harness.environments.base import CONTROL, Environment
from harness.load.target import LoadTarget, TargetError, client_name
from harness.model.deployment import DeploymentOption

PACKAGE = "PS1000A1"
TASK_SEQUENCE = "PS1000A2"
DEPLOYMENT = "PS12000A"
HEALTH_PATH = "/_harness/health"


def prepare(env: Environment, *, clients: int, package_size: str = "100 MB",
            enrollment: tuple[Path, Path] | None = None, packages: list[str] | None = None) -> LoadTarget:
    """The target of a load of `clients` clients on `env` (up). Token clients when the environment has a control
    API and no `enrollment` is given; PKI clients with certificates from `enrollment` (cert, key) otherwise."""
    endpoints = env.endpoints
    control = CONTROL in env.capabilities
    if not control and (enrollment is None or not packages):
        raise TargetError(f"the {endpoints.environment} environment has no control API: name the packages the "
                          "clients download (--package) and the enrollment CA of PKI clients (--enrollment-cert, "
                          "--enrollment-key)")
    if not endpoints.site_code:
        raise TargetError(f"the {endpoints.environment} environment does not say its site code")
    tokens: dict[str, str] = {}
    if control:
        site = SiteDriver(env.http, endpoints["mp"].control_base)
        packages = packages or [deploy_package(site, package_size)]
        if enrollment is None:
            tokens = {name: site.registration_token(name) for name in map(client_name, range(1, clients + 1))}
    cmg = endpoints["cmg"]
    return LoadTarget(environment=endpoints.environment, site_code=endpoints.site_code, mp_url=endpoints["mp"].base,
                      cmg_url=cmg.url, hosts=endpoints.hosts("internet"), ca=str(endpoints.ca_cert),
                      packages=list(packages or []), deployment=DEPLOYMENT if control else "",
                      auth="pki" if enrollment else "token",
                      enrollment_cert=str(enrollment[0]) if enrollment else None,
                      enrollment_key=str(enrollment[1]) if enrollment else None, tokens=tokens,
                      health_url=f"https://{cmg.ip}:{cmg.port}{HEALTH_PATH}" if control else "")


def deploy_package(site: SiteDriver, size: str) -> str:
    """The load's package on the CMG, an upgrade task sequence that uses it, deployed on demand; its ID."""
    site.define_package(PACKAGE, "Windows 11 upgrade (load)", size, kind="OS upgrade package")
    site.distribute(PACKAGE, "cmg")
    site.define_task_sequence(TASK_SEQUENCE, "Upgrade to Windows 11 (load)",
                              [{"name": "Upgrade Operating System", "action": "Upgrade Operating System",
                                "package": PACKAGE}])
    site.deploy(DEPLOYMENT, TASK_SEQUENCE, option=DeploymentOption.DOWNLOAD_ON_DEMAND.value)
    return PACKAGE


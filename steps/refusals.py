"""The refusal texts scenarios quote, as the harness's rules write them: "the client refuses to start the task
sequence because …" and "the site refuses the deployment because …" match any part of these.

The texts are produced by calling the rules over every combination that makes them refuse, then generalised
(`<deployment>`, `<version>`), so the step catalogue lists exactly what the harness says.
"""

from __future__ import annotations

import re
from itertools import product

from harness.model.deployment import Availability, Deployment, DeploymentOption, LaunchMode, Purpose, Trigger
from harness.model.rules import deployment_problems, internet_refusal, trigger_refusal
from harness.model.task_sequence import Package, Step, StepAction, TaskSequence
from harness.model.versions import BUILD_NUMBERS, SiteVersion

_DEPLOYMENT, _TASK_SEQUENCE, _PACKAGE = "PS120001", "PS100001", "PS100002"

# The site's own refusals outside the deployment rules (harness/emulators/site/models.py, model/deployment.py).
SITE_MODEL_REFUSALS = (
    "task sequence '<name>' references undefined package(s) <package>",
    "Starting in version 2107 you can't create a traditional cloud distribution point (site version <version>): "
    "use a content-enabled CMG",
    "unknown deployment option '<option>'; expected one of <the options>",
)


def client_refusals() -> list[str]:
    """Why a client does not start (or pre-cache) a deployment: execmgr.log's words."""
    texts = set()
    for allow, launch, release, option, boot in product((True, False), LaunchMode, BUILD_NUMBERS, DeploymentOption,
                                                        (True, False)):
        deployment = Deployment(_DEPLOYMENT, _TASK_SEQUENCE, option=option, allow_internet=allow)
        texts.add(internet_refusal(deployment, launch, SiteVersion(release), boot_image=boot))
    for trigger, purpose, pre_download in product(Trigger, Purpose, (True, False)):
        deployment = Deployment(_DEPLOYMENT, _TASK_SEQUENCE, purpose=purpose, pre_download=pre_download)
        texts.add(trigger_refusal(deployment, trigger))
    return sorted({_general(text) for text in texts if text is not None})


def site_refusals() -> list[str]:
    """What the site refuses to deploy or create."""
    texts: set[str] = set()
    for with_dpc, option, available_to, pre_download, purpose in product((True, False), DeploymentOption,
                                                                         Availability, (True, False), Purpose):
        deployment = Deployment(_DEPLOYMENT, _TASK_SEQUENCE, option=option, purpose=purpose,
                                available_to=available_to, pre_download=pre_download)
        texts.update(deployment_problems(deployment, _task_sequence(with_dpc)))
    return sorted({_general(text) for text in texts} | set(SITE_MODEL_REFUSALS))


def _task_sequence(with_download_package_content: bool) -> TaskSequence:
    package = Package(_PACKAGE, "Upgrade media", model_size=1)
    steps: tuple[Step, ...] = (Step("Upgrade Operating System", StepAction.UPGRADE_OS, package_id=_PACKAGE),)
    if with_download_package_content:
        steps += (Step("Download Package Content", StepAction.DOWNLOAD_PACKAGE_CONTENT, packages=(_PACKAGE,)),)
    return TaskSequence(_TASK_SEQUENCE, "Upgrade", steps, {_PACKAGE: package})


def _general(text: str) -> str:
    text = text.replace(_DEPLOYMENT, "<deployment>").replace(_TASK_SEQUENCE, "<task sequence>")
    text = text.replace(_PACKAGE, "<package>")
    return re.sub(r"site version \d{4}", "site version <version>", text)

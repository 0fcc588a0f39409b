"""What a ConfigMgr client writes where: its log files with the component of their lines, and the programs the
task sequence manager starts for steps, each writing to smsts.log under a component of its own.

Sources: the client log reference (https://learn.microsoft.com/en-us/mem/configmgr/core/plan-design/hierarchy/log-files);
TSManager's "Executing command line: smsappinstall.exe …" and InstallApplication's thread, KB 18408
(https://support.microsoft.com/help/18408); OSDUpgradeOS.exe's `Command line: "OSDUpgradeOS.exe"` as component
OSDUpgradeWindows, https://pastebin.com/17ZjeJUQ. [INFERENCE] smsswd.exe's command line.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.model.task_sequence import StepAction

# log file -> default component
CLIENT_LOGS = {
    "smsts.log": "TSManager",
    "execmgr.log": "execmgr",
    "TSAgent.log": "TSAgent",
    "LocationServices.log": "LocationServices",
    "CAS.log": "ContentAccess",
    "ContentTransferManager.log": "ContentTransferManager",
    "DataTransferService.log": "DataTransferService",
    "ClientLocation.log": "ClientLocation",
    "CcmMessaging.log": "CcmMessaging",
    "ClientIDManagerStartup.log": "ClientIDManagerStartup",  # registration
}


@dataclass(frozen=True)
class Program:
    component: str
    command: str  # the command line TSManager starts; {package} is the step's package
    first_line: str | None = None  # what the program writes first, if the sources show it


# step action -> the program TSManager starts for it (other actions run inside TSManager)
PROGRAMS = {
    StepAction.UPGRADE_OS.value: Program("OSDUpgradeWindows", "OSDUpgradeOS.exe", 'Command line: "OSDUpgradeOS.exe"'),
    StepAction.RUN_COMMAND_LINE.value: Program("InstallSoftware", "smsswd.exe /run:{package}"),
    StepAction.DOWNLOAD_PACKAGE_CONTENT.value: Program("OSDDownloadContent", "OSDDownloadContent.exe"),
    StepAction.INSTALL_APPLICATION.value: Program(
        "InstallApplication", "smsappinstall.exe /app:{package} /basevar: /continueOnError:False"),
}

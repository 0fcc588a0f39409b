"""Packages, steps and task sequences, validated as the console would refuse bad ones."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

PACKAGE_ID = re.compile(r"^[A-Z0-9]{3}[0-9A-F]{5}$")  # site code + 5 hex digits, e.g. PS100012


class PackageType(Enum):
    PACKAGE = "Package"
    OS_UPGRADE = "OS upgrade package"
    DRIVER = "Driver package"
    APPLICATION = "Application"

    @classmethod
    def parse(cls, text: str) -> PackageType:
        for kind in cls:
            if kind.value.lower() == text.strip().lower():
                return kind
        raise ValueError(f"unknown package type {text!r}; expected one of {', '.join(k.value for k in cls)}")

    @property
    def content_file(self) -> str:
        """The file the harness writes for a package of this type ([INFERENCE]: one file each)."""
        return {PackageType.OS_UPGRADE: "sources/install.esd", PackageType.DRIVER: "drivers.cab",
                PackageType.APPLICATION: "setup.msi", PackageType.PACKAGE: "content.bin"}[self]


@dataclass(frozen=True)
class Package:
    package_id: str
    name: str
    model_size: int  # bytes, in model units
    version: int = 1
    kind: PackageType = PackageType.PACKAGE

    def __post_init__(self) -> None:
        if not PACKAGE_ID.match(self.package_id):
            raise ValueError(f"package ID {self.package_id!r} is not a ConfigMgr package ID "
                             "(site code and five hex digits, e.g. PS100012)")
        if self.model_size <= 0:
            raise ValueError(f"package {self.package_id} must have a positive size")
        if self.version < 1:
            raise ValueError(f"package {self.package_id} version must be 1 or more")


class StepAction(Enum):
    CHECK_READINESS = "Check Readiness"
    DOWNLOAD_PACKAGE_CONTENT = "Download Package Content"
    UPGRADE_OS = "Upgrade Operating System"
    RUN_COMMAND_LINE = "Run Command Line"
    INSTALL_APPLICATION = "Install Application"
    RESTART = "Restart Computer"
    SET_VARIABLE = "Set Task Sequence Variable"

    @classmethod
    def parse(cls, text: str) -> StepAction:
        for action in cls:
            if action.value.lower() == text.strip().lower():
                return action
        raise ValueError(f"unknown step action {text!r}; expected one of {', '.join(a.value for a in cls)}")


@dataclass(frozen=True)
class Step:
    name: str
    action: StepAction
    package_id: str | None = None
    duration: float = 0.0  # model seconds the step runs once its content is there
    continue_on_error: bool = False

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a step needs a name")
        if self.duration < 0:
            raise ValueError(f"step {self.name!r} has a negative duration")


@dataclass(frozen=True)
class TaskSequence:
    package_id: str
    name: str
    steps: tuple[Step, ...]
    packages: dict[str, Package] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError(f"task sequence {self.name!r} has no steps")
        for step in self.steps:
            if step.package_id is not None and step.package_id not in self.packages:
                raise ValueError(f"step {step.name!r} references package {step.package_id}, "
                                 f"which is not defined in the site")

    @property
    def referenced_packages(self) -> tuple[Package, ...]:
        """Packages in the order steps first need them (the order "download all" fetches them)."""
        seen: dict[str, Package] = {}
        for step in self.steps:
            if step.package_id is not None and step.package_id not in seen:
                seen[step.package_id] = self.packages[step.package_id]
        return tuple(seen.values())

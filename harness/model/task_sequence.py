"""Packages, steps and task sequences, validated as the console would refuse bad ones."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from harness.model.naming import by_value

PACKAGE_ID = re.compile(r"^[A-Z0-9]{3}[0-9A-F]{5}$")  # site code + 5 hex digits, e.g. PS100012


class PackageType(Enum):
    PACKAGE = "Package"
    OS_UPGRADE = "OS upgrade package"
    DRIVER = "Driver package"
    APPLICATION = "Application"

    @classmethod
    def parse(cls, text: str) -> PackageType:
        return by_value(cls, text, "package type")

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
    package_share: bool = False  # "Copy the content in this package to a package share on distribution points"

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
        return by_value(cls, text, "step action")


@dataclass(frozen=True)
class Condition:
    """Run only when a task sequence variable equals a value (the engine compares case-insensitively).

    The IPU template's "Run Actions on Failure" group has _SMSTSLastActionSucceeded = false (B-40).
    """

    variable: str
    value: str


class Destination(Enum):
    """Download Package Content destinations (WMI DestinationLocationType, B-37)."""

    TS_CACHE = "TSCache"  # Task sequence working directory
    CLIENT_CACHE = "CCMCache"  # Configuration Manager client cache
    CUSTOM = "Custom"  # Custom path

    @classmethod
    def parse(cls, text: str) -> Destination:
        words = {"task sequence working directory": cls.TS_CACHE, "tscache": cls.TS_CACHE,
                 "configuration manager client cache": cls.CLIENT_CACHE, "ccmcache": cls.CLIENT_CACHE,
                 "custom path": cls.CUSTOM, "custom": cls.CUSTOM}
        found = words.get(text.strip().lower())
        if found is None:
            raise ValueError(f"unknown download destination {text!r}; expected Task sequence working directory, "
                             "Configuration Manager client cache or Custom path")
        return found


@dataclass(frozen=True)
class DownloadOptions:
    """What a Download Package Content step does with the packages it lists."""

    destination: Destination = Destination.TS_CACHE
    path: str = ""  # for Custom path; the package ID is appended
    variable: str = ""  # "Save path as a variable": Var -> %Var01%, %Var02%… in list order
    continue_on_package_error: bool = True  # "If a package download fails, continue downloading other packages"

    def __post_init__(self) -> None:
        if self.destination is Destination.CUSTOM and not self.path:
            raise ValueError("a Download Package Content step with a custom path needs the path")


@dataclass(frozen=True)
class Step:
    name: str
    action: StepAction
    package_id: str | None = None
    duration: float = 0.0  # model seconds the step runs once its content is there
    continue_on_error: bool = False
    condition: Condition | None = None
    packages: tuple[str, ...] = ()  # Download Package Content: the packages it downloads, in order
    download: DownloadOptions | None = None
    exit_code: int = 0  # what the step's program returns (e.g. 0xC1900208 from Windows Setup), 0 = success

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a step needs a name")
        if self.duration < 0:
            raise ValueError(f"step {self.name!r} has a negative duration")
        if self.action is StepAction.DOWNLOAD_PACKAGE_CONTENT and not self.packages:
            raise ValueError(f"Download Package Content step {self.name!r} lists no packages")
        if self.packages and self.action is not StepAction.DOWNLOAD_PACKAGE_CONTENT:
            raise ValueError(f"only a Download Package Content step lists packages ({self.name!r} is "
                             f"{self.action.value})")

    @property
    def content(self) -> tuple[str, ...]:
        """Every package the step needs."""
        return self.packages or ((self.package_id,) if self.package_id else ())


@dataclass(frozen=True)
class Group:
    name: str
    children: tuple[Step | Group, ...]
    continue_on_error: bool = False
    condition: Condition | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a group needs a name")


def walk(nodes: tuple[Step | Group, ...]) -> list[Step]:
    """Every step, depth first, in the order the engine meets them."""
    steps: list[Step] = []
    for node in nodes:
        steps.extend(walk(node.children) if isinstance(node, Group) else [node])
    return steps


@dataclass(frozen=True)
class TaskSequence:
    package_id: str
    name: str
    steps: tuple[Step | Group, ...]  # top-level steps and groups
    packages: dict[str, Package] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not walk(self.steps):
            raise ValueError(f"task sequence {self.name!r} has no steps")
        for step in walk(self.steps):
            for package_id in step.content:
                if package_id not in self.packages:
                    raise ValueError(f"step {step.name!r} references package {package_id}, "
                                     f"which is not defined in the site")

    @property
    def has_download_package_content(self) -> bool:
        return any(s.action is StepAction.DOWNLOAD_PACKAGE_CONTENT for s in walk(self.steps))

    @property
    def referenced_packages(self) -> tuple[Package, ...]:
        """Packages in the order steps first need them (the order "download all" fetches them)."""
        seen: dict[str, Package] = {}
        for step in walk(self.steps):
            for package_id in step.content:
                seen.setdefault(package_id, self.packages[package_id])
        return tuple(seen.values())

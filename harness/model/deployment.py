"""Task sequence deployments: options, purpose, launch modes and their WMI flags (B-24, B-25, B-35, B-42, B-50)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from harness.model.naming import by_value, normalise


class DeploymentOption(Enum):
    """The Distribution Points page choice, in the console's words."""

    DOWNLOAD_ON_DEMAND = "Download content locally when needed by the running task sequence"
    DOWNLOAD_ALL = "Download all content locally before starting task sequence"
    ACCESS_DIRECTLY = "Access content directly from a distribution point when needed by the running task sequence"

    @classmethod
    def parse(cls, text: str) -> DeploymentOption:
        wanted = normalise(text)
        for option in cls:
            if normalise(option.value) == wanted or option.name.lower() == wanted.replace(" ", "_"):
                return option
        choices = "; ".join(f'"{o.value}"' for o in cls)
        raise ValueError(f"unknown deployment option {text!r}; expected one of {choices}")

    @property
    def remote_client_flags(self) -> int:
        return _REMOTE_CLIENT_FLAGS[self]


# SMS_Advertisement.RemoteClientFlags bits (B-42, B-50); the mapping of the two non-on-demand options to
# the local/remote DP bits is [INFERENCE] (B-25, B-35).
RUN_FROM_LOCAL_DISPPOINT = 0x8
DOWNLOAD_FROM_LOCAL_DISPPOINT = 0x10
DOWNLOAD_FROM_REMOTE_DISPPOINT = 0x40
RUN_FROM_REMOTE_DISPPOINT = 0x80
DOWNLOAD_ON_DEMAND_FROM_LOCAL_DP = 0x100
DOWNLOAD_ON_DEMAND_FROM_REMOTE_DP = 0x200

_REMOTE_CLIENT_FLAGS = {
    DeploymentOption.DOWNLOAD_ON_DEMAND: DOWNLOAD_ON_DEMAND_FROM_LOCAL_DP | DOWNLOAD_ON_DEMAND_FROM_REMOTE_DP,
    DeploymentOption.DOWNLOAD_ALL: DOWNLOAD_FROM_LOCAL_DISPPOINT | DOWNLOAD_FROM_REMOTE_DISPPOINT,
    DeploymentOption.ACCESS_DIRECTLY: RUN_FROM_LOCAL_DISPPOINT | RUN_FROM_REMOTE_DISPPOINT,
}

# The bits that allow a remote (neighbour boundary group's) DP for the deployment's option.
REMOTE_DP_FLAGS = DOWNLOAD_FROM_REMOTE_DISPPOINT | RUN_FROM_REMOTE_DISPPOINT | DOWNLOAD_ON_DEMAND_FROM_REMOTE_DP

# SMS_Advertisement.AdvertFlags: set when "Allow task sequence to run for client on the Internet"
# is cleared ([INFERENCE], B-50).
APTSINTRANETONLY = 0x00080000


def option_from_remote_client_flags(flags: int) -> DeploymentOption:
    for option, bits in _REMOTE_CLIENT_FLAGS.items():
        if flags & bits:
            return option
    raise ValueError(f"RemoteClientFlags 0x{flags:X} name no deployment option")


class Purpose(Enum):
    AVAILABLE = "Available"
    REQUIRED = "Required"

    @property
    def offer_type(self) -> int:
        return 2 if self is Purpose.AVAILABLE else 0  # SMS_Advertisement.OfferType (B-42)

    @classmethod
    def from_offer_type(cls, offer_type: int) -> Purpose:
        return cls.AVAILABLE if offer_type == 2 else cls.REQUIRED


class LaunchMode(Enum):
    """How the task sequence was started; values are _SMSTSLaunchMode's (B-42)."""

    SOFTWARE_CENTER = "SMS"
    PXE = "PXE"
    MEDIA = "UFD"
    WINDOWS_PE = "HD"  # [INFERENCE] a WinPE start from a staged boot image; no console word exists

    @classmethod
    def parse(cls, text: str) -> LaunchMode:
        wanted = normalise(text)
        aliases = {"software center": cls.SOFTWARE_CENTER, "pxe": cls.PXE,
                   "task sequence media": cls.MEDIA, "media": cls.MEDIA, "bootable media": cls.MEDIA,
                   "windows pe": cls.WINDOWS_PE, "winpe": cls.WINDOWS_PE}
        if wanted in aliases:
            return aliases[wanted]
        raise ValueError(f"unknown launch mode {text!r}; expected Software Center, PXE, task sequence media "
                         "or Windows PE")

    @property
    def label(self) -> str:
        return {LaunchMode.SOFTWARE_CENTER: "Software Center", LaunchMode.PXE: "PXE",
                LaunchMode.MEDIA: "task sequence media", LaunchMode.WINDOWS_PE: "Windows PE"}[self]


class Availability(Enum):
    """"Make available to the following" on the Deployment Settings page (B-52)."""

    CLIENTS = "Only Configuration Manager clients"
    CLIENTS_MEDIA_PXE = "Configuration Manager clients, media and PXE"
    MEDIA_PXE = "Only media and PXE"
    MEDIA_PXE_HIDDEN = "Only media and PXE (hidden)"

    @classmethod
    def parse(cls, text: str) -> Availability:
        return by_value(cls, text, "availability", separator="; ")

    @property
    def media_or_pxe(self) -> bool:
        return self is not Availability.CLIENTS


class Trigger(Enum):
    """What starts a run on the client."""

    USER = "user"  # the user clicks Install in Software Center
    DEADLINE = "deadline"  # execmgr runs a Required deployment at its deadline
    PRECACHE = "pre-cache"  # the available time of an Available deployment with pre-download: content only


@dataclass(frozen=True)
class Deployment:
    deployment_id: str
    task_sequence_id: str
    option: DeploymentOption = DeploymentOption.DOWNLOAD_ON_DEMAND
    purpose: Purpose = Purpose.AVAILABLE
    allow_internet: bool = True
    collection: str = "All Desktop and Server Clients"
    available_to: Availability = Availability.CLIENTS
    pre_download: bool = False  # "Pre-download content for this task sequence" (Available only, B-43)
    # "When no local distribution point is available, use a remote distribution point" (B-18)
    allow_remote_dp: bool = True

    @property
    def remote_client_flags(self) -> int:
        flags = self.option.remote_client_flags
        return flags if self.allow_remote_dp else flags & ~REMOTE_DP_FLAGS
    @property
    def advert_flags(self) -> int:
        return 0 if self.allow_internet else APTSINTRANETONLY


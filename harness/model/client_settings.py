"""Client settings the harness models: the Cloud Services group (B-12, B-13) and network location."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class NetworkLocation(Enum):
    """Where the emulated client sits; the client itself decides what it is by what it can reach (B-11)."""

    INTERNET = "internet"
    INTRANET = "intranet"


# The docs disagree on the default of "Allow access to cloud distribution point" (B-13: one page says No,
# another says Yes). The harness follows the current default client settings (Yes) and scenarios set
# it explicitly whenever it matters.
DEFAULT_ALLOW_CLOUD_DP = True


# Client Cache Settings: "Maximum cache size" defaults to 5120 MB.
DEFAULT_CACHE_SIZE = 5120 * 2**20


@dataclass(frozen=True)
class CloudServicesSettings:
    enable_cmg: bool = True  # "Enable clients to use a cloud management gateway"
    allow_cloud_dp: bool = DEFAULT_ALLOW_CLOUD_DP  # "Allow access to cloud distribution point"
    always_on_internet: bool = False  # ClientAlwaysOnInternet / CCMALWAYSINF=1

"""Site versions and what each one can do for internet task sequences (B-01, B-02, B-04 to B-08, B-18, B-19)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import total_ordering

from harness.model.matrix import Capability, supported

# Build numbers of the current-branch releases (5.00.<build>.1000), as MPLIST and site info show them.
BUILD_NUMBERS: dict[int, int] = {
    1802: 8634, 1806: 8692, 1810: 8740, 1902: 8790, 1906: 8853, 1910: 8913,
    2002: 8968, 2006: 9012, 2010: 9040, 2103: 9049, 2107: 9058, 2111: 9068,
    2203: 9078, 2207: 9088, 2211: 9096, 2303: 9106, 2309: 9122, 2403: 9128, 2409: 9132, 2503: 9135,
}


@total_ordering
@dataclass(frozen=True)
class SiteVersion:
    """A current-branch release such as 1910 (YYMM)."""

    release: int

    def __post_init__(self) -> None:
        if self.release not in BUILD_NUMBERS:
            known = ", ".join(str(v) for v in BUILD_NUMBERS)
            raise ValueError(f"unknown Configuration Manager version {self.release}; known: {known}")

    @classmethod
    def parse(cls, text: str | int) -> SiteVersion:
        try:
            return cls(int(str(text).strip()))
        except ValueError as error:
            if "unknown Configuration" in str(error):
                raise
            raise ValueError(f"not a Configuration Manager version: {text!r} (expected e.g. 1910)") from None

    @classmethod
    def from_build(cls, build: int) -> SiteVersion:
        for release, number in BUILD_NUMBERS.items():
            if number == build:
                return cls(release)
        raise ValueError(f"unknown Configuration Manager build number {build}")

    @property
    def build(self) -> int:
        return BUILD_NUMBERS[self.release]

    @property
    def product_version(self) -> str:
        return f"5.00.{self.build}.1000"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, SiteVersion):
            return NotImplemented
        return self.release < other.release

    def __str__(self) -> str:
        return str(self.release)

    # What the version can do: read from the capability matrix (matrix.py).

    def supports(self, capability: Capability) -> bool:
        return supported(capability, self.release)

    @property
    def ipu_via_cmg(self) -> bool:
        return self.supports(Capability.IPU_VIA_CMG)

    @property
    def content_enabled_cmg(self) -> bool:
        return self.supports(Capability.CONTENT_ENABLED_CMG)

    @property
    def task_sequence_boundary_group_fallback(self) -> bool:
        return self.supports(Capability.TS_BOUNDARY_GROUP_FALLBACK)

    @property
    def ts_engine_downloads_cloud_content(self) -> bool:
        """The 1910 feature: the TS engine itself gets packages from a CMG or cloud DP on demand."""
        return self.supports(Capability.ON_DEMAND_FROM_CLOUD)

    @property
    def site_issued_tokens(self) -> bool:
        return self.supports(Capability.SITE_ISSUED_TOKENS)

    @property
    def boot_image_ts_from_software_center(self) -> bool:
        return self.supports(Capability.BOOT_IMAGE_TS_FROM_SOFTWARE_CENTER)

    @property
    def boot_media_via_cmg(self) -> bool:
        return self.supports(Capability.BOOT_MEDIA_VIA_CMG)

    @property
    def new_classic_cloud_dps(self) -> bool:
        return self.supports(Capability.NEW_CLASSIC_CLOUD_DP)

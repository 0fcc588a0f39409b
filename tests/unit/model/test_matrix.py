"""The capability matrix agrees with the behaviour spec's §1.7, restated here cell by cell."""

import json
import subprocess
import sys

from harness.model.matrix import MATRIX_VERSIONS, Capability, as_json, supported

# §1.7, typed from the spec's table: the first release with each capability (None: gone since).
SPEC_SINCE = {
    Capability.IPU_VIA_CMG: 1802,                        # [S05]
    Capability.CONTENT_ENABLED_CMG: 1806,                # [S06]
    Capability.TS_BOUNDARY_GROUP_FALLBACK: 1810,         # [S02][S09]
    Capability.PREFER_CLOUD_SOURCES: 1810,               # [S58]
    Capability.ON_DEMAND_FROM_CLOUD: 1910,               # [S03][S07]
    Capability.SITE_ISSUED_TOKENS: 2002,                 # [S21]
    Capability.BOOT_IMAGE_TS_FROM_SOFTWARE_CENTER: 2006,  # [S01][S07]
    Capability.BOOT_MEDIA_VIA_CMG: 2010,                 # [S01]
}


def test_every_cell_matches_the_spec() -> None:
    for capability, since in SPEC_SINCE.items():
        for release in MATRIX_VERSIONS:
            assert supported(capability, release) is (release >= since), (capability, release)


def test_no_new_classic_cloud_dps_from_2107() -> None:  # [S12]
    assert [supported(Capability.NEW_CLASSIC_CLOUD_DP, r) for r in MATRIX_VERSIONS] == [True] * 9 + [False]


def test_cli_prints_the_same_matrix_as_json() -> None:
    out = subprocess.run([sys.executable, "-m", "harness.cli", "matrix", "--json"], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout) == as_json()
    table = subprocess.run([sys.executable, "-m", "harness.cli", "matrix"], capture_output=True, text=True,
                           check=True).stdout
    assert all(c.value in table for c in Capability) and "2107+" in table

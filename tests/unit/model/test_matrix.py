"""The capability matrix agrees with B-01, B-02, B-04 to B-08, B-18, B-19, restated here cell by cell."""

import json
import subprocess
import sys

from harness.model.matrix import MATRIX_VERSIONS, Capability, as_json, supported

# Typed from the behaviours named on each line: the first release with each capability (None: gone since).
SPEC_SINCE = {
    Capability.IPU_VIA_CMG: 1802,                        # B-01
    Capability.CONTENT_ENABLED_CMG: 1806,                # B-02
    Capability.TS_BOUNDARY_GROUP_FALLBACK: 1810,         # B-18
    Capability.PREFER_CLOUD_SOURCES: 1810,               # B-19
    Capability.ON_DEMAND_FROM_CLOUD: 1910,               # B-04
    Capability.SITE_ISSUED_TOKENS: 2002,                 # B-06
    Capability.BOOT_IMAGE_TS_FROM_SOFTWARE_CENTER: 2006,  # B-07
    Capability.BOOT_MEDIA_VIA_CMG: 2010,                 # B-08
}


def test_every_cell_matches_the_spec() -> None:
    for capability, since in SPEC_SINCE.items():
        for release in MATRIX_VERSIONS:
            assert supported(capability, release) is (release >= since), (capability, release)


def test_no_new_classic_cloud_dps_from_2107() -> None:  # B-05
    assert [supported(Capability.NEW_CLASSIC_CLOUD_DP, r) for r in MATRIX_VERSIONS] == [True] * 9 + [False]


def test_cli_prints_the_same_matrix_as_json() -> None:
    out = subprocess.run([sys.executable, "-m", "harness.cli", "matrix", "--json"], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout) == as_json()
    table = subprocess.run([sys.executable, "-m", "harness.cli", "matrix"], capture_output=True, text=True,
                           check=True).stdout
    assert all(c.value in table for c in Capability) and "2107+" in table

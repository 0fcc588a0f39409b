"""Where content lives, as clients and tools name it: the distribution point's virtual directories, the storage
container of cloud content, a peer cache source's share. Services, drivers and steps take these names from here.

The CMG's content service path is `content_url.CONTENT_PATH`.
"""

from __future__ import annotations

DP_PACKAGE_VDIR = "SMS_DP_SMSPKG$"  # a DP's packages, by package ID
DP_SIGNATURE_VDIR = "SMS_DP_SMSSIG$"  # their signature tars, <PackageID>.<version>.tar
# [INFERENCE] Neither the container name nor the blob layout of a CMG storage account is documented; the harness
# uses one container and "<PackageID>/<file>" blobs.
CONTENT_CONTAINER = "content"
# [INFERENCE] A peer cache source's SuperPeer share: community write-ups show this name on its content port.
PEER_VDIR = "SCCM_BranchCache$"

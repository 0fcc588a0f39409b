"""Deterministic package content: the same package ID and version always give the same bytes."""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Iterator

from harness.model.units import Scale

_CHUNK = 1 << 20


def content_seed(package_id: str, version: int) -> int:
    digest = hashlib.sha256(f"{package_id}.{version}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def iter_content(package_id: str, version: int, size: int) -> Iterator[bytes]:
    """The package's physical bytes in 1 MiB chunks (random.randbytes runs at ~1 GB/s).

    Always whole blocks, cut at the end, so a shorter content is a prefix of a longer one and any
    byte offset can be regenerated the same way (ranges, resume).
    """
    rng = random.Random(content_seed(package_id, version))
    remaining = size
    while remaining > 0:
        chunk = rng.randbytes(_CHUNK)[:remaining]
        remaining -= len(chunk)
        yield chunk


def corrupted(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The same bytes with the first one flipped: same size, wrong hash (a damaged copy in a store)."""
    first = True
    for chunk in chunks:
        if first and chunk:
            chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
            first = False
        yield chunk


def content_bytes(package_id: str, version: int, size: int) -> bytes:
    return b"".join(iter_content(package_id, version, size))


@functools.lru_cache(maxsize=256)
def content_sha256(package_id: str, version: int, size: int) -> str:
    """Cached: the same three always give the same hash, and a suite asks for the same packages' hashes in
    hundreds of scenarios."""
    digest = hashlib.sha256()
    for chunk in iter_content(package_id, version, size):
        digest.update(chunk)
    return digest.hexdigest().upper()


def physical_size(model_size: int, scale: Scale) -> int:
    return scale.physical_bytes(model_size)

"""The current model time in a 16-byte file that every process of an environment maps (a seqlock).

Only the clock authority writes it, and only while nobody is busy, so a reader always sees the instant the
world is at: a token checked during a request is checked at the model time the request was made. Containers
see the same file through the bind-mounted working folder, and so the same page of memory.

Layout: a sequence number (odd while a write is under way), then model microseconds since the epoch; both
unsigned 64-bit little-endian.
"""

from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path

_LAYOUT = struct.Struct("<QQ")
SIZE = _LAYOUT.size


class SharedTime:
    """A mapping of the file; `read()` from any process, `write()` only from the authority's."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = path
        flags = os.O_RDWR | (os.O_CREAT if create else 0)
        fd = os.open(path, flags, 0o644)
        try:
            if create:
                os.ftruncate(fd, SIZE)
            elif os.fstat(fd).st_size < SIZE:
                raise ValueError(f"{path} is not a model-time file ({os.fstat(fd).st_size} bytes, expected {SIZE})")
            self._map = mmap.mmap(fd, SIZE)
        finally:
            os.close(fd)

    def read(self) -> int:
        """Model microseconds since the epoch."""
        while True:
            before, value = _LAYOUT.unpack_from(self._map)
            if before % 2 == 0 and struct.unpack_from("<Q", self._map)[0] == before:
                return int(value)

    def write(self, microseconds: int) -> None:
        sequence = struct.unpack_from("<Q", self._map)[0]
        struct.pack_into("<Q", self._map, 0, sequence + 1)
        struct.pack_into("<Q", self._map, 8, microseconds)
        struct.pack_into("<Q", self._map, 0, sequence + 2)

    def close(self) -> None:
        self._map.close()

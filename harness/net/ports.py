"""Ports for servers that bind their own sockets later, in another process: the containers environment's services.

A port chosen by binding port 0 comes from the kernel's ephemeral range, the same range every outgoing
connection on the machine takes its source port from. Released and handed to a container that binds it a few
seconds later, it can meanwhile have become the source port of some other connection (a parallel test worker
talking to its own services), and the container's bind fails with "Address already in use".

So ports are reserved instead:

- from outside the ephemeral range (/proc/sys/net/ipv4/ip_local_port_range), where the kernel never puts a
  connection's source port;
- held against other harness processes by an exclusive lock on a file named after the port, kept until the
  reservation is released (the kernel drops the lock if the process dies);
- and checked free by binding them as the services will (SO_REUSEADDR), so a server of anything else already
  listening there is skipped.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
from collections.abc import Iterable
from pathlib import Path

EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST = 10000  # below this sit the fixed ports of common servers
_ATTEMPTS_PER_PORT = 200


class PortReservationError(RuntimeError):
    """No port could be reserved."""


class PortReservation:
    """A distinct port on 127.0.0.1 for each name, held until `release()` (or the end of a `with` block)."""

    def __init__(self, names: Iterable[str], *, lock_dir: Path | None = None,
                 candidates: list[int] | None = None, rng: random.Random | None = None) -> None:
        self._lock_dir = lock_dir or Path(tempfile.gettempdir()) / "cmg-harness-ports"
        self._candidates = candidates if candidates is not None else reservable_ports()
        self._rng = rng or random.SystemRandom()
        self._locks: list[int] = []  # locked file descriptors
        self.ports: dict[str, int] = {}
        _make_shared_dir(self._lock_dir)
        try:
            for name in names:
                self.ports[name] = self._reserve_one(name)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        locks, self._locks = self._locks, []
        for fd in locks:
            os.close(fd)  # closing the file drops its lock

    def __enter__(self) -> PortReservation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _reserve_one(self, name: str) -> int:
        taken = set(self.ports.values())
        for _ in range(_ATTEMPTS_PER_PORT):
            port = self._rng.choice(self._candidates)
            if port in taken:
                continue
            lock = self._try_lock(port)
            if lock is None:  # another harness process holds it
                continue
            if _bindable(port):
                self._locks.append(lock)
                return port
            os.close(lock)  # something else listens there
        raise PortReservationError(
            f"no free port for {name!r} after {_ATTEMPTS_PER_PORT} tries among {len(self._candidates)} ports "
            f"outside the ephemeral range ({EPHEMERAL_RANGE_FILE})")

    def _try_lock(self, port: int) -> int | None:
        # Read-only, so a lock file another user created can be locked too.
        fd = os.open(self._lock_dir / f"{port}.lock", os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd


def reservable_ports(range_file: Path = EPHEMERAL_RANGE_FILE) -> list[int]:
    """The ports from LOWEST up that lie outside the kernel's ephemeral range."""
    low, high = ephemeral_range(range_file)
    ports = [port for port in range(LOWEST, 65536) if not low <= port <= high]
    if not ports:
        raise PortReservationError(f"the ephemeral port range {low}-{high} ({range_file}) leaves no port from "
                                   f"{LOWEST} up for servers; narrow it to reserve ports for the services")
    return ports


def ephemeral_range(range_file: Path = EPHEMERAL_RANGE_FILE) -> tuple[int, int]:
    try:
        low, high = (int(field) for field in range_file.read_text(encoding="ascii").split())
    except (OSError, ValueError):  # not Linux, or an unreadable /proc: Linux's default range
        return 32768, 60999
    return low, high


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the services bind
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _make_shared_dir(path: Path) -> None:
    """One folder for every user's harness processes: ports are shared by the whole machine."""
    try:
        path.mkdir(mode=0o1777)
        os.chmod(path, 0o1777)  # mkdir's mode is cut by the umask
    except FileExistsError:
        pass

"""What the kernel knows of a TCP connection's bytes, for deciding whether the world is quiet.

For each socket: how many data bytes its process has written (`out`) and read (`taken`), from TCP_INFO and the
receive queue, exact whatever the ACKs are doing. A connection carries nothing the clock has to wait for when
what one end wrote is what the other end took: `a.out == b.taken` both ways. Nothing here depends on timing.
"""

from __future__ import annotations

import fcntl
import select
import socket
import struct
import termios
from dataclasses import dataclass

# struct tcp_info (linux/tcp.h): offsets of the fields read here.
_STATE = 0
_BYTES_RECEIVED = 128  # __u64, a FIN counts one
_NOTSENT_BYTES = 144  # __u32, written by the process, not yet sent
_BYTES_SENT = 200  # __u64, data sent, retransmissions included (Linux 4.19 and later)
_BYTES_RETRANS = 208
_INFO_SIZE = 232
# TCP states after a FIN was received (it counts one in bytes_received but is no byte to read).
_FIN_RECEIVED = {6, 8, 9, 11}  # TIME_WAIT, CLOSE_WAIT, LAST_ACK, CLOSING
CLOSE_WAIT = 8


@dataclass(frozen=True)
class Counters:
    local: str  # "127.0.0.1:port"
    peer: str
    out: int  # data bytes the process has written
    taken: int  # data bytes the process has read
    state: int  # the kernel's TCP state

    @property
    def peer_closed(self) -> bool:
        return self.state in _FIN_RECEIVED


def counters(sock: socket.socket) -> Counters | None:
    """The socket's counters, or None when it is not a connected TCP socket (closed, listening, gone)."""
    try:
        local, peer = sock.getsockname(), sock.getpeername()
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _INFO_SIZE)
        unread = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
    except OSError:
        return None
    if len(raw) < _INFO_SIZE:
        raise RuntimeError("this kernel's TCP_INFO has no byte counters (Linux 4.19 or later is needed)")
    state = raw[_STATE]
    received, = struct.unpack_from("<Q", raw, _BYTES_RECEIVED)
    notsent, = struct.unpack_from("<I", raw, _NOTSENT_BYTES)
    sent, retransmitted = struct.unpack_from("<QQ", raw, _BYTES_SENT)
    fin = 1 if state in _FIN_RECEIVED else 0
    return Counters(_address(local), _address(peer), sent - retransmitted + notsent, received - fin - unread, state)


def _address(pair: tuple[str, int] | tuple[str, int, int, int]) -> str:
    return f"{pair[0]}:{pair[1]}"


def readable(sock: socket.socket) -> bool:
    """Whether `sock` has something to take now: bytes, an end of stream, or (listening) a connection to accept."""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return False

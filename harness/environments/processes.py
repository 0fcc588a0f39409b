"""Child processes that are always cleaned up: own process group, stopped as a group, dead with the parent.

Each child runs in a new session (so its own process group): `stop()` signals the whole group, which takes any
grandchildren with it. On Linux the child also asks the kernel for SIGTERM when its parent goes away
(`PR_SET_PDEATHSIG`), so a SIGKILLed harness leaves no servers behind.

PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, not when the parent process does: start
environments from a long-lived thread (the main thread), never from a worker thread that may end first.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO

_PR_SET_PDEATHSIG = 1
_LINES_KEPT = 200
_TAIL_IN_ERRORS = 20
# After the child exits, how long its output may still be arriving (a grandchild can hold the pipe open).
_OUTPUT_GRACE_SECONDS = 0.5
_READER_JOIN_SECONDS = 2.0


class ProcessStartError(RuntimeError):
    def __init__(self, name: str, reason: str, returncode: int | None, output_tail: Sequence[str]) -> None:
        self.name = name
        self.returncode = returncode
        self.output_tail = list(output_tail)
        lines = "\n".join(f"  | {line}" for line in self.output_tail) or "  (no output)"
        exit_note = "" if returncode is None else f" (exit code {returncode})"
        super().__init__(f"{name}: {reason}{exit_note}; last {len(self.output_tail)} output lines:\n{lines}")


class ManagedProcess:
    """One child process whose output goes to `log_path` and whose process group is stopped with it.

    `env`, like `subprocess.Popen`'s, replaces the whole environment when given.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        pass_fds: Sequence[int] = (),
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self._pass_fds = tuple(pass_fds)
        self._popen: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._output = threading.Condition()
        self._lines: deque[str] = deque(maxlen=_LINES_KEPT)
        self._line_count = 0
        self._output_done = False
        self._stop_lock = threading.Lock()
        self._stopped = False

    def start(self) -> None:
        if self._popen is not None:
            raise RuntimeError(f"{self.name} was already started")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._popen = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self._env,
            cwd=self._cwd,
            pass_fds=self._pass_fds,
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()),
        )
        assert self._popen.stdout is not None
        self._reader = threading.Thread(
            target=self._copy_output, args=(self._popen.stdout,), name=f"{self.name} output", daemon=True
        )
        self._reader.start()

    def write_stdin(self, data: bytes) -> None:
        """Writes `data` to the child's standard input and closes it (the child sees end of file)."""
        stdin = self._started().stdin
        assert stdin is not None
        try:
            stdin.write(data)
            stdin.flush()
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """The first match of `pattern` in an output line, including lines printed before this call."""
        popen = self._started()
        deadline = time.monotonic() + timeout
        exited_at: float | None = None
        with self._output:
            seen = self._line_count - len(self._lines)
            while True:
                for line in self._lines_after(seen):
                    if match := pattern.search(line):
                        return match
                seen = self._line_count
                now = time.monotonic()
                if exited_at is None and popen.poll() is not None:
                    exited_at = now
                if self._output_done or (exited_at is not None and now - exited_at > _OUTPUT_GRACE_SECONDS):
                    raise self._start_error(f"exited before printing {pattern.pattern!r}", popen, wait=True)
                if now >= deadline:
                    raise self._start_error(f"did not print {pattern.pattern!r} within {timeout:g} s", popen)
                self._output.wait(min(deadline - now, 0.1))

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM to the process group, then SIGKILL to whatever is left of it. Idempotent."""
        with self._stop_lock:
            popen = self._popen
            if popen is None or self._stopped:
                return
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout)
            # Also reaches grandchildren that outlived the leader or ignored SIGTERM.
            self._signal_group(signal.SIGKILL)
            popen.wait()
            self._stopped = True
            self._close_pipes(popen)

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    def tail(self, n: int = 20) -> list[str]:
        with self._output:
            return list(self._lines)[-n:] if n > 0 else []

    def _send_term(self) -> None:
        """SIGTERM without waiting, so a group of processes can shut down side by side."""
        with self._stop_lock:
            if self._popen is not None and not self._stopped:
                self._signal_group(signal.SIGTERM)

    def _signal_group(self, signum: signal.Signals) -> None:
        assert self._popen is not None
        # start_new_session made the child a group leader: its process group id is its pid.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, signum)

    def _started(self) -> subprocess.Popen[bytes]:
        if self._popen is None:
            raise RuntimeError(f"{self.name} has not been started")
        return self._popen

    def _lines_after(self, seen: int) -> list[str]:
        new = min(self._line_count - seen, len(self._lines))
        return list(self._lines)[-new:] if new > 0 else []

    def _start_error(
        self, reason: str, popen: subprocess.Popen[bytes], *, wait: bool = False
    ) -> ProcessStartError:
        returncode = popen.poll()
        if returncode is None and wait:
            with contextlib.suppress(subprocess.TimeoutExpired):
                returncode = popen.wait(_OUTPUT_GRACE_SECONDS)
        return ProcessStartError(self.name, reason, returncode, list(self._lines)[-_TAIL_IN_ERRORS:])

    def _copy_output(self, stream: IO[bytes]) -> None:
        try:
            with self.log_path.open("ab") as log:
                log.write(f"--- {self.name} started: {shlex.join(self.argv)}\n".encode())
                log.flush()
                for raw in stream:
                    log.write(raw)
                    log.flush()
                    self._remember(raw.decode("utf-8", "replace").rstrip("\r\n"))
        finally:
            stream.close()
            with self._output:
                self._output_done = True
                self._output.notify_all()

    def _remember(self, line: str) -> None:
        with self._output:
            self._lines.append(line)
            self._line_count += 1
            self._output.notify_all()

    def _close_pipes(self, popen: subprocess.Popen[bytes]) -> None:
        if popen.stdin is not None:
            with contextlib.suppress(OSError):
                popen.stdin.close()
        if self._reader is not None:
            # The reader ends at end of file; a process that escaped the group could still hold the pipe open.
            self._reader.join(_READER_JOIN_SECONDS)


class ProcessGroup:
    """The processes of one environment, stopped together (last added first) and at interpreter exit."""

    def __init__(self) -> None:
        self._processes: list[ManagedProcess] = []
        self._lock = threading.Lock()
        atexit.register(self.stop_all)

    def add(self, process: ManagedProcess) -> ManagedProcess:
        with self._lock:
            self._processes.append(process)
        return process

    def stop_all(self, timeout: float = 5.0) -> None:
        with self._lock:
            processes = self._processes[::-1]
        for process in processes:
            process._send_term()
        for process in processes:
            process.stop(timeout)

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()
        atexit.unregister(self.stop_all)


def install_signal_handlers(on_stop: Callable[[], None]) -> None:
    """SIGTERM and SIGHUP call `on_stop` once, then exit with 128 + the signal number.

    SIGINT is left alone and stays a KeyboardInterrupt. Call from the main thread.
    """

    stopping = False

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        try:
            on_stop()
        except Exception:
            traceback.print_exc()
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handle)


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_PRCTL = _load_prctl()


def _die_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """A preexec function asking for SIGTERM when the forking thread ends (None where prctl is missing)."""
    prctl = _PRCTL
    if prctl is None:
        return None
    sigterm = int(signal.SIGTERM)

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, sigterm, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), sigterm)

    return preexec

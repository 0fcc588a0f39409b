"""The client's log files, in CMTrace format, with the components an administrator expects (B-55).

Every line names the source file it comes from and the thread that wrote it (`log_sources`): a caller that knows
the product's source location passes it, the others get their component's. In smsts.log the task sequence's
programs each write from their own process: while a step's program runs (`process`), its lines carry that program's
component and thread.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from harness.client.log_sources import default_file, first_thread
from harness.model.client_logs import CLIENT_LOGS
from harness.protocol.cmtrace import CMTraceWriter, Severity

SMSTS = "smsts.log"
TS_MANAGER = "TSManager"
THREAD_STEP = 4  # Windows' thread ids are multiples of 4


class ClientLogs:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._writers = {name: CMTraceWriter(component, clock) for name, component in CLIENT_LOGS.items()}
        self._started = clock()
        self._lock = threading.Lock()
        self._processes: list[tuple[str, int]] = []  # the step programs running now, innermost last
        self._launched: Counter[str] = Counter()  # processes started per program
        self._ordinals: Counter[str] = Counter()

    def write(self, log: str, message: str, *, component: str | None = None, severity: Severity = Severity.INFO,
              thread: int | None = None, file: str | None = None) -> None:
        """A line; without a component, the log's own (in smsts.log, the running step program's)."""
        component, own_thread = self._writer_of(log, component)
        self._writers[log].write(message, component=component, severity=severity,
                                 thread=own_thread if thread is None else thread,
                                 file=default_file(component) if file is None else file)

    def smsts(self, message: str, *, component: str | None = None, severity: Severity = Severity.INFO,
              file: str | None = None) -> None:
        self.write(SMSTS, message, component=component, severity=severity, file=file)

    @contextmanager
    def process(self, component: str) -> Iterator[None]:
        """A step's program (OSDUpgradeOS.exe, smsswd.exe …) runs: smsts.log lines without a component are its."""
        with self._lock:
            number = self._launched[component]
            self._launched[component] += 1
            self._processes.append((component, first_thread(component) + THREAD_STEP * number))
        try:
            yield
        finally:
            with self._lock:
                self._processes.pop()

    def guid(self, kind: str, *names: str) -> str:
        """A job's GUID as the client logs it ({…}, upper case): new for each job, the same in a repeated run."""
        with self._lock:
            self._ordinals[kind] += 1
            ordinal = self._ordinals[kind]
        seed = "/".join((kind, *names, str(ordinal), self._started.isoformat()))
        return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, seed)).upper() + "}"

    def text(self, log: str) -> str:
        return self._writers[log].text()

    def names(self) -> list[str]:
        return [name for name, writer in self._writers.items() if writer.text()]

    def _writer_of(self, log: str, component: str | None) -> tuple[str, int]:
        """The component a line is written as and that component's thread: a step program's own while it runs."""
        with self._lock:
            running = dict(self._processes)
            innermost = self._processes[-1][0] if self._processes else None
        if component is None:
            component = (innermost if log == SMSTS else None) or self._writers[log].component_default
        if component in running:
            return component, running[component]
        return component, first_thread(component)

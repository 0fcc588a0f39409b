"""Managed child processes, with real Python children."""

import os
import re
import signal
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from harness.environments.processes import ManagedProcess, ProcessGroup, ProcessStartError

PROJECT_ROOT = Path(__file__).resolve().parents[3]
READY = re.compile(r"READY(?: (?P<value>\S+))?")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and prctl")


def _python(code: str) -> list[str]:
    return [sys.executable, "-u", "-c", textwrap.dedent(code)]


def _gone(pid: int) -> bool:
    """Exited: no such process, or a zombie nobody has reaped yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not _gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def group() -> Iterator[ProcessGroup]:
    with ProcessGroup() as processes:
        yield processes


Spawn = Callable[..., ManagedProcess]


@pytest.fixture
def spawn(group: ProcessGroup, tmp_path: Path) -> Spawn:
    def start(code: str, name: str = "child", env: Mapping[str, str] | None = None) -> ManagedProcess:
        process = group.add(ManagedProcess(name, _python(code), log_path=tmp_path / f"{name}.log", env=env))
        process.start()
        return process

    return start


def _pid(process: ManagedProcess) -> int:
    assert process.pid is not None
    return process.pid


def test_wait_for_line_returns_the_match_and_output_goes_to_the_log(spawn: Spawn, tmp_path: Path) -> None:
    child = spawn("""
        import time
        print("starting")
        print("READY 8443")
        time.sleep(30)
    """)

    match = child.wait_for_line(READY, timeout=10)

    assert match["value"] == "8443"
    assert child.alive and child.pid is not None and child.returncode is None
    assert child.tail() == ["starting", "READY 8443"]
    assert "starting\nREADY 8443\n" in (tmp_path / "child.log").read_text()


def test_wait_for_line_also_finds_lines_printed_before_the_call(spawn: Spawn) -> None:
    child = spawn("""
        import time
        print("config loaded")
        print("READY")
        time.sleep(30)
    """)
    child.wait_for_line(READY, timeout=10)

    assert child.wait_for_line(re.compile("config (loaded)"), timeout=1)[1] == "loaded"


def test_child_that_exits_early_raises_with_its_exit_code_and_last_lines(spawn: Spawn) -> None:
    child = spawn(
        """
        import sys
        for n in range(1, 26):
            print(f"line {n}")
        sys.exit(3)
        """,
        name="mp-emulator",
    )

    with pytest.raises(ProcessStartError) as failure:
        child.wait_for_line(READY, timeout=10)

    message = str(failure.value)
    assert "mp-emulator" in message and "exit code 3" in message
    assert failure.value.returncode == 3
    assert failure.value.output_tail == [f"line {n}" for n in range(6, 26)]
    assert "line 25" in message and "line 5\n" not in message


def test_child_that_stays_silent_times_out(spawn: Spawn) -> None:
    child = spawn("import time; time.sleep(30)")

    started = time.monotonic()
    with pytest.raises(ProcessStartError, match="did not print"):
        child.wait_for_line(READY, timeout=0.3)

    assert time.monotonic() - started < 2
    assert child.alive


def test_stop_terminates_the_child(spawn: Spawn) -> None:
    child = spawn("import time; print('READY'); time.sleep(30)")
    child.wait_for_line(READY, timeout=10)

    child.stop()

    assert child.returncode == -signal.SIGTERM
    assert not child.alive


def test_stop_kills_a_child_that_ignores_sigterm(spawn: Spawn) -> None:
    child = spawn("""
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("READY")
        time.sleep(30)
    """)
    child.wait_for_line(READY, timeout=10)

    started = time.monotonic()
    child.stop(timeout=0.3)

    assert child.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 3


@linux_only
def test_grandchild_in_the_group_dies_too(spawn: Spawn) -> None:
    child = spawn("""
        import subprocess, sys, time
        grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        print("READY", grandchild.pid)
        time.sleep(30)
    """)
    grandchild_pid = int(child.wait_for_line(READY, timeout=10)["value"])

    child.stop()

    assert _wait_gone(grandchild_pid, 2)


@linux_only
def test_child_dies_when_its_parent_is_killed(spawn: Spawn, tmp_path: Path) -> None:
    middle = spawn(
        f"""
        import re, sys, time
        from pathlib import Path
        from harness.environments.processes import ManagedProcess
        child = ManagedProcess(
            "sleeper", [sys.executable, "-c", "import time; print('READY'); time.sleep(30)"],
            log_path=Path({str(tmp_path / "sleeper.log")!r}),
        )
        child.start()
        child.wait_for_line(re.compile("READY"), timeout=10)
        print("READY", child.pid)
        time.sleep(30)
        """,
        name="middle",
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    child_pid = int(middle.wait_for_line(READY, timeout=10)["value"])

    os.kill(_pid(middle), signal.SIGKILL)

    assert _wait_gone(child_pid, 2)


def test_stop_is_idempotent_and_safe_before_start(tmp_path: Path) -> None:
    never_started = ManagedProcess("idle", _python("pass"), log_path=tmp_path / "idle.log")
    never_started.stop()
    assert never_started.pid is None and not never_started.alive and never_started.tail() == []

    with ProcessGroup() as group:
        child = group.add(
            ManagedProcess("once", _python("import time; time.sleep(30)"), log_path=tmp_path / "o.log")
        )
        child.start()
        child.stop()
        child.stop()
    assert child.returncode == -signal.SIGTERM


def test_write_stdin_delivers_the_data_and_end_of_file(spawn: Spawn) -> None:
    child = spawn("""
        import sys, time
        data = sys.stdin.buffer.read()
        print("READY", len(data))
        time.sleep(30)
    """)

    child.write_stdin(b"secret-key-material")

    assert child.wait_for_line(READY, timeout=10)["value"] == "19"


def test_group_stops_every_process(tmp_path: Path) -> None:
    with ProcessGroup() as group:
        children = [
            group.add(
                ManagedProcess(
                    f"p{n}", _python("import time; time.sleep(30)"), log_path=tmp_path / f"{n}.log"
                )
            )
            for n in range(3)
        ]
        for child in children:
            child.start()
        assert all(child.alive for child in children)

    assert [child.returncode for child in children] == [-signal.SIGTERM] * 3


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_signal_handlers_call_on_stop_then_exit_with_128_plus_the_signal(spawn: Spawn, signum: int) -> None:
    child = spawn(
        """
        import time
        from harness.environments.processes import install_signal_handlers
        install_signal_handlers(lambda: print("STOPPING", flush=True))
        print("READY")
        time.sleep(30)
        """,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    child.wait_for_line(READY, timeout=10)

    os.kill(_pid(child), signum)

    child.wait_for_line(re.compile("STOPPING"), timeout=5)
    deadline = time.monotonic() + 5
    while child.returncode is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert child.returncode == 128 + signum

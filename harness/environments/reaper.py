"""Removes an environment's containers, and its working folder, once the process that started them is gone,
however it went.

    python -m harness.environments.reaper LABEL=VALUE [--workdir PATH]   (reads its standard input until EOF)

The containers environment starts one reaper per environment, in a session of its own, with a pipe on its
standard input whose writing end only the harness holds. When the harness stops its containers it closes
the pipe and the reaper finds nothing left; when the harness is killed (SIGKILL included) the kernel closes
the pipe, and the reaper removes every container carrying the environment's label. This is the job
testcontainers gives Ryuk, whose image cannot be pulled where no registry answers, and which it reaches over
a mapped port that host networking does not have.

With `--workdir` it also removes the environment's working folder (certificates, configuration, the clients'
files): a harness that was killed cannot, and the folders of killed runs would pile up in the temporary
directory. The harness passes it only when the folder is not to be kept.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import docker

# How long the harness waits for a reaper it released (it has found nothing to remove by then).
_RELEASE_WAIT_S = 10.0
_LIST_ATTEMPTS = 5


def list_labelled(client: Any, label: str) -> list[Any]:
    """Every container, running or not, with `label` (`key` or `key=value`).

    The SDK lists, then inspects each container: one removed in between (by its owner, by a reaper) raises
    NotFound. The listing is then simply taken again."""
    for _ in range(_LIST_ATTEMPTS - 1):
        with contextlib.suppress(docker.errors.NotFound):
            return list(client.containers.list(all=True, filters={"label": label}))
    return list(client.containers.list(all=True, filters={"label": label}))


def remove_labelled(client: Any, label: str) -> list[str]:
    """Force-removes every container, running or not, with `label` (`key=value`); returns their names."""
    removed = []
    for container in list_labelled(client, label):
        with contextlib.suppress(docker.errors.NotFound):  # removed meanwhile by its owner
            container.remove(force=True, v=True)
            removed.append(container.name)
    return removed


class Reaper:
    """The harness's side: start the reaper, and release it after a clean stop."""

    def __init__(self, label: str, workdir: Path | None = None) -> None:
        self.label = label
        self.workdir = workdir  # removed too, when given
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # A new session: Ctrl+C in the terminal signals the harness's process group, not the reaper.
        workdir = ["--workdir", str(self.workdir)] if self.workdir is not None else []
        self._process = subprocess.Popen([sys.executable, "-m", "harness.environments.reaper", self.label, *workdir],
                                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)

    def release(self) -> None:
        """End of file on the reaper's input: it removes what is left (nothing, after a clean stop) and exits."""
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            process.wait(_RELEASE_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_end_of_file(stream: IO[bytes]) -> None:
    while stream.read(4096):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    workdir: Path | None = None
    if len(args) == 3 and args[1] == "--workdir":
        workdir, args = Path(args[2]), args[:1]
    if len(args) != 1 or "=" not in args[0]:
        print("usage: python -m harness.environments.reaper LABEL=VALUE [--workdir PATH]", file=sys.stderr)
        return 2
    # Signals meant for the harness (a terminal's SIGINT or SIGHUP) must not stop the reaper before it has reaped.
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    _wait_for_end_of_file(sys.stdin.buffer)
    if workdir is not None:  # whatever becomes of the containers: the folder is the harness's alone
        shutil.rmtree(workdir, ignore_errors=True)
    try:
        removed = remove_labelled(docker.from_env(), args[0])
    except docker.errors.DockerException as error:
        print(f"reaper: could not remove the containers labelled {args[0]}: {error}", file=sys.stderr)
        return 1
    if removed:
        print(f"reaper: removed {len(removed)} containers left by a stopped harness: {', '.join(removed)}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

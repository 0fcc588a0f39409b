"""Which environment a run uses: `local`, `containers` or `external[=FILE]` (`--env` on pytest and cmg-harness).

    local                 every service a process on 127.0.0.1 (the default)
    containers            every service a container (testcontainers, host networking, 127.0.0.1)
    external              the endpoints in environments/external.toml
    external=PATH         the endpoints in PATH
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.environments.base import Environment

KINDS = ("local", "containers", "external")
DEFAULT_CLOCK = "virtual"  # for local and containers
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_EXTERNAL_FILE = PROJECT_ROOT / "environments" / "external.toml"


@dataclass(frozen=True)
class EnvironmentSpec:
    kind: str
    file: Path | None = None  # external only

    def __str__(self) -> str:
        return self.kind if self.file is None else f"{self.kind}={self.file}"


def parse_spec(text: str) -> EnvironmentSpec:
    """`local`, `containers`, `external` or `external=PATH`; a clear ValueError for anything else."""
    kind, _, value = text.strip().partition("=")
    if kind not in KINDS:
        raise ValueError(f"unknown environment {text!r}: use one of local, containers, external[=FILE]")
    if kind != "external":
        if value:
            raise ValueError(f"environment {kind!r} takes no file (only external=FILE does)")
        return EnvironmentSpec(kind)
    path = Path(value).expanduser() if value else DEFAULT_EXTERNAL_FILE
    if not path.is_file():
        raise ValueError(f"external environment file {path} does not exist "
                         "(copy environments/external.example.toml and fill it in)")
    return EnvironmentSpec(kind, path.resolve())


def create(spec: EnvironmentSpec, *, scale: float | None = None, keep_workdir: bool = False,
           clock: str | None = None) -> Environment:
    """A new environment, not yet up. Imports lazily: `local` needs neither Docker nor testcontainers.

    `clock`: "real" or "virtual" (None: the environment's default). An external environment keeps real time."""
    mode = clock or DEFAULT_CLOCK
    if spec.kind == "local":
        from harness.environments.local import LocalEnvironment
        return LocalEnvironment(scale=scale, keep_workdir=keep_workdir, clock_mode=mode)
    if spec.kind == "containers":
        from harness.environments.containers import ContainersEnvironment
        return ContainersEnvironment(scale=scale, keep_workdir=keep_workdir, clock_mode=mode)
    from harness.environments.external import ExternalEnvironment
    assert spec.file is not None
    if clock == "virtual":
        raise ValueError("an external environment runs on the real clock (its services keep real time); "
                         "use --clock real or leave --clock out")
    return ExternalEnvironment(spec.file, scale=scale, keep_workdir=keep_workdir)

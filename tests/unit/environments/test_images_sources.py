"""Container image tooling without a Docker engine or a registry, up to the build context: the tag, and the
build context's pieces (pip and npm stand in)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.environments import image_context
from harness.environments.image_context import (
    platform_tags,
    prepare_context,
    prune_node_modules,
    requirements,
    stage_sources,
)
from harness.environments.image_names import AZURITE, DOCKERFILES, SERVICES, ImageError, image_name, image_tag
from tests.unit.environments.images_helpers import folder, no_commands

# -- the tag -------------------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with everything the tag hashes, in miniature."""
    root = tmp_path / "project"
    (root / "harness" / "service").mkdir(parents=True)
    (root / "harness" / "__init__.py").write_text('"""harness"""\n')
    (root / "harness" / "service" / "serve.py").write_text("print('serve')\n")
    (root / "pyproject.toml").write_text('[project]\nname = "cmg-content-harness"\n')
    (root / "README.md").write_text("# readme\n")
    containers = root / "environments" / "containers"
    containers.mkdir(parents=True)
    for name in DOCKERFILES.values():
        (containers / name).write_text(f"# {name}\nFROM scratch\n")
    _lock_azurite(root, "3.35.0")
    return root


def _lock_azurite(root: Path, version: str) -> None:
    lock = {"packages": {"": {}, "node_modules/azurite": {"version": version}}}
    (root / "package-lock.json").write_text(json.dumps(lock))


def test_the_tag_is_a_short_hash_and_stable(project: Path) -> None:
    tag = image_tag(project)
    assert re.fullmatch(r"src-[0-9a-f]{12}", tag)
    assert image_tag(project) == tag


@pytest.mark.parametrize("change", [
    lambda root: (root / "harness" / "service" / "serve.py").write_text("print('changed')\n"),
    lambda root: (root / "harness" / "service" / "new.py").write_text(""),
    lambda root: (root / "harness" / "service" / "serve.py").rename(root / "harness" / "service" / "run.py"),
    lambda root: (root / "pyproject.toml").write_text('[project]\nname = "other"\n'),
    lambda root: (root / "environments" / "containers" / "azurite.Dockerfile").write_text("FROM other\n"),
    lambda root: _lock_azurite(root, "3.36.0"),
], ids=["source edited", "source added", "source renamed", "pyproject", "dockerfile", "azurite version"])
def test_the_tag_changes_with_whatever_goes_into_the_images(project: Path, change: Any) -> None:
    before = image_tag(project)
    change(project)
    assert image_tag(project) != before


def test_caches_and_files_outside_the_images_leave_the_tag_alone(project: Path) -> None:
    before = image_tag(project)
    cache = project / "harness" / "__pycache__"
    cache.mkdir()
    (cache / "serve.cpython-311.pyc").write_bytes(b"\0")
    (cache / "serve.cpython-311.pyc.140234").write_bytes(b"\0")  # what Python writes before renaming it
    (project / "harness" / "service" / "serve.pyc").write_bytes(b"\0")
    (project / "README.md").write_text("# edited\n")
    (project / "tests").mkdir()
    (project / "tests" / "test_x.py").write_text("")
    assert image_tag(project) == before


def test_the_real_project_has_a_tag_and_names_every_image() -> None:
    tag = image_tag()
    assert image_name("site", tag) == f"cmg-harness/site:{tag}"
    assert {image_name(service, tag) for service in (*SERVICES, AZURITE)} == {
        f"cmg-harness/{service}:{tag}" for service in ("site", "cmg", "clouddp", "client", "network", "storage",
                                                       "azurite")}


def test_an_unknown_service_has_no_image() -> None:
    with pytest.raises(ValueError, match="one of site, cmg"):
        image_name("dp", "src-0")


def test_a_lock_without_azurite_says_what_to_do(project: Path) -> None:
    (project / "package-lock.json").write_text(json.dumps({"packages": {}}))
    with pytest.raises(ImageError, match="locks no Azurite version: run `npm install`"):
        image_tag(project)


# -- the build context ---------------------------------------------------------------------------------------


def test_wheels_suit_the_images_python_and_c_library_whatever_the_host() -> None:
    tags = platform_tags("x86_64")
    assert tags[0] == "manylinux_2_36_x86_64"  # Debian bookworm's glibc, in every base image
    assert "manylinux_2_17_x86_64" in tags and "manylinux2014_x86_64" in tags and "manylinux1_x86_64" in tags
    assert "manylinux_2_37_x86_64" not in tags
    assert platform_tags("aarch64")[-2:] == ["manylinux2014_aarch64", "linux_aarch64"]
    command = image_context.pip_download_command(Path("h.whl"), Path("out"))
    assert command[3:] == ["download", "--quiet", "--only-binary=:all:", "--python-version", "3.11",
                           "--implementation", "cp", *command[10:-3], "-d", "out", "h.whl"]
    assert command[10:-3:2] == ["--platform"] * len(platform_tags())


def test_requirements_pin_exactly_the_downloaded_wheels() -> None:
    wheels = [Path("typing_extensions-4.16.0-py3-none-any.whl"),
              Path("cryptography-50.0.2-cp311-abi3-manylinux_2_34_x86_64.whl"), Path("Mako-1.4.3-py3-none-any.whl")]
    assert requirements(wheels) == "cryptography==50.0.2\nmako==1.4.3\ntyping-extensions==4.16.0\n"
    with pytest.raises(ImageError, match="not a wheel"):
        requirements([Path("notes.txt")])


def test_the_wheel_is_built_from_the_hashed_sources_only(project: Path, tmp_path: Path) -> None:
    (project / "harness" / "__pycache__").mkdir()
    (project / "harness" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (project / "build" / "lib").mkdir(parents=True)
    source = stage_sources(project, tmp_path / "staged")
    files = sorted(path.relative_to(source).as_posix() for path in source.rglob("*") if path.is_file())
    assert files == ["README.md", "harness/__init__.py", "harness/service/serve.py", "pyproject.toml"]


def test_node_modules_lose_maps_types_and_docs_but_not_code_or_licences(tmp_path: Path) -> None:
    package = tmp_path / "node_modules" / "azurite"
    (package / "dist").mkdir(parents=True)
    keep = ["dist/main.js", "dist/main.d.ts.js", "LICENSE.md", "package.json"]
    gone = ["dist/main.js.map", "dist/main.d.ts", "README.md", "docs.markdown"]
    for name in [*keep, *gone]:
        (package / name).write_text("x" * 10)
    bin_dir = tmp_path / "node_modules" / ".bin"
    bin_dir.mkdir()
    (bin_dir / "azurite-blob").symlink_to("../azurite/dist/main.js")
    assert prune_node_modules(tmp_path / "node_modules") == 40
    assert sorted(p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file()) == sorted(keep)
    assert (bin_dir / "azurite-blob").is_symlink()


def test_a_context_holds_both_dockerfiles_wheels_and_azurite_and_replaces_older_ones(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workdir = tmp_path / "build"
    monkeypatch.setattr(image_context, "build_harness_wheel", _fake_wheel)
    monkeypatch.setattr(image_context, "dependency_wheels", lambda wheel, workdir, root, progress: folder(
        workdir / "deps-x", {"anyio-4.16.0-py3-none-any.whl": "w", "requirements.txt": "anyio==4.16.0\n"}))
    monkeypatch.setattr(image_context, "azurite_install", lambda workdir, version, progress: folder(
        workdir / f"azurite-{version}", {"node_modules/azurite/package.json": "{}"}))
    (workdir / "src-000000000000").mkdir(parents=True)  # an older tag's context
    context = prepare_context(workdir, root=project, progress=lambda _: None)
    assert context == workdir / image_tag(project)
    assert sorted(p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file()) == [
        ".complete", "azurite/Dockerfile", "azurite/azurite/node_modules/azurite/package.json",
        "emulators/Dockerfile", "emulators/wheels/deps/anyio-4.16.0-py3-none-any.whl",
        "emulators/wheels/deps/requirements.txt", "emulators/wheels/harness/cmg_content_harness-0.1.0-py3-none-any.whl"]
    assert (context / "emulators" / "Dockerfile").read_text() == "# emulators.Dockerfile\nFROM scratch\n"
    assert not (workdir / "src-000000000000").exists()


def test_a_complete_context_is_reused_without_pip_or_npm(project: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    context = tmp_path / "build" / image_tag(project)
    context.mkdir(parents=True)
    (context / ".complete").touch()
    monkeypatch.setattr(image_context, "_run", no_commands)
    assert prepare_context(tmp_path / "build", root=project, progress=lambda _: None) == context


def test_dependency_wheels_are_kept_until_pyproject_changes(project: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    downloads: list[list[str]] = []

    def pip(command: list[str], what: str) -> None:
        downloads.append(command)
        into = Path(command[command.index("-d") + 1])
        (into / "h11-0.16.0-py3-none-any.whl").write_bytes(b"w")
        shutil.copyfile(command[-1], into / Path(command[-1]).name)  # pip download copies the project's wheel too

    monkeypatch.setattr(image_context, "_run", pip)
    wheel = _fake_wheel(project, tmp_path / "harness", lambda _: None)
    first = image_context.dependency_wheels(wheel, tmp_path, project, lambda _: None)
    assert sorted(p.name for p in first.iterdir()) == ["h11-0.16.0-py3-none-any.whl", "requirements.txt"]
    assert (first / "requirements.txt").read_text() == "h11==0.16.0\n"
    assert image_context.dependency_wheels(wheel, tmp_path, project, lambda _: None) == first
    (project / "pyproject.toml").write_text('[project]\nname = "changed"\n')
    assert image_context.dependency_wheels(wheel, tmp_path, project, lambda _: None) != first
    assert len(downloads) == 2


def _fake_wheel(root: Path, into: Path, progress: Any) -> Path:
    return folder(into, {"cmg_content_harness-0.1.0-py3-none-any.whl": "wheel"}) / (
        "cmg_content_harness-0.1.0-py3-none-any.whl")


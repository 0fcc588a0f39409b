"""Container image tooling without a Docker engine or a registry: the tag, the build context's pieces, the
choice of base image and its errors, what gets built, and the offline base's helpers (the engine is a fake)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from harness.environments import images
from harness.environments.images import (
    AZURITE,
    BASE_IMAGE_ENV,
    LABEL_BASE,
    LABEL_INPUTS,
    OFFLINE_BASE,
    PUBLIC_BASES,
    SERVICES,
    BuildLog,
    Engine,
    ImageError,
    PhaseReporter,
    choose_base_images,
    debian_mirror,
    image_name,
    image_tag,
    platform_tags,
    prepare_context,
    prune_node_modules,
    requirements,
    stage_sources,
    trim_rootfs,
)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PYTHON_BASE, NODE_BASE = PUBLIC_BASES["emulators"], PUBLIC_BASES["azurite"]


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
    for name in images.DOCKERFILES.values():
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
    command = images.pip_download_command(Path("h.whl"), Path("out"))
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
    monkeypatch.setattr(images, "build_harness_wheel", _fake_wheel)
    monkeypatch.setattr(images, "dependency_wheels", lambda wheel, workdir, root, progress: _folder(
        workdir / "deps-x", {"anyio-4.16.0-py3-none-any.whl": "w", "requirements.txt": "anyio==4.16.0\n"}))
    monkeypatch.setattr(images, "azurite_install", lambda workdir, version, progress: _folder(
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
    monkeypatch.setattr(images, "_run", _no_commands)
    assert prepare_context(tmp_path / "build", root=project, progress=lambda _: None) == context


def test_dependency_wheels_are_kept_until_pyproject_changes(project: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    downloads: list[list[str]] = []

    def pip(command: list[str], what: str) -> None:
        downloads.append(command)
        into = Path(command[command.index("-d") + 1])
        (into / "h11-0.16.0-py3-none-any.whl").write_bytes(b"w")
        shutil.copyfile(command[-1], into / Path(command[-1]).name)  # pip download copies the project's wheel too

    monkeypatch.setattr(images, "_run", pip)
    wheel = _fake_wheel(project, tmp_path / "harness", lambda _: None)
    first = images.dependency_wheels(wheel, tmp_path, project, lambda _: None)
    assert sorted(p.name for p in first.iterdir()) == ["h11-0.16.0-py3-none-any.whl", "requirements.txt"]
    assert (first / "requirements.txt").read_text() == "h11==0.16.0\n"
    assert images.dependency_wheels(wheel, tmp_path, project, lambda _: None) == first
    (project / "pyproject.toml").write_text('[project]\nname = "changed"\n')
    assert images.dependency_wheels(wheel, tmp_path, project, lambda _: None) != first
    assert len(downloads) == 2


def _fake_wheel(root: Path, into: Path, progress: Any) -> Path:
    return _folder(into, {"cmg_content_harness-0.1.0-py3-none-any.whl": "wheel"}) / (
        "cmg_content_harness-0.1.0-py3-none-any.whl")


def _folder(path: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return path


def _no_commands(command: list[str], what: str) -> None:
    raise AssertionError(f"ran {what}")


# -- the engine, faked ---------------------------------------------------------------------------------------


class FakeEngine(Engine):
    """Images by name with their labels; pulls succeed only for `pullable`."""

    def __init__(self, present: Mapping[str, Mapping[str, str]] | None = None, pullable: tuple[str, ...] = ()):
        super().__init__(client=None)
        self.images = {name: dict(labels) for name, labels in (present or {}).items()}
        self.pullable = pullable
        self.pulls: list[str] = []
        self.builds: list[tuple[str, str, dict[str, str]]] = []
        self.tags: list[tuple[str, str]] = []

    def has_image(self, name: str) -> bool:
        return name in self.images

    def labels(self, name: str) -> dict[str, str]:
        return self.images[name]

    def size(self, name: str) -> int:
        return 268_000_000

    def pull(self, name: str) -> str | None:
        self.pulls.append(name)
        if name in self.pullable:
            self.images[name] = {}
            return None
        return "lookup registry-1.docker.io: no such host"

    def build(self, context: Path, *, target: str, name: str, buildargs: Mapping[str, str], progress: Any) -> None:
        self.builds.append((context.name, target, dict(buildargs)))
        self.images[name] = {LABEL_BASE: buildargs["BASE_IMAGE"]}

    def find_labelled(self, repository: str, labels: Mapping[str, str]) -> str | None:
        return next((name for name, have in self.images.items()
                     if name.startswith(f"{repository}:") and labels.items() <= have.items()), None)

    def tag(self, image: str, name: str) -> None:
        self.tags.append((image, name))
        self.images[name] = self.images[image]


def _silent(text: str) -> None:
    pass


def test_the_public_bases_when_they_are_here() -> None:
    bases = choose_base_images(FakeEngine({PYTHON_BASE: {}, NODE_BASE: {}}), environ={}, progress=_silent)
    assert (bases.emulators, bases.azurite, bases.explicit) == (PYTHON_BASE, NODE_BASE, False)


def test_the_offline_base_serves_both_dockerfiles_without_trying_a_registry() -> None:
    engine = FakeEngine({OFFLINE_BASE: {}, PYTHON_BASE: {}})
    bases = choose_base_images(engine, environ={}, progress=_silent)
    assert (bases.emulators, bases.azurite) == (OFFLINE_BASE, OFFLINE_BASE)
    assert engine.pulls == []


def test_the_public_bases_are_pulled_when_nothing_is_here() -> None:
    engine = FakeEngine(pullable=(PYTHON_BASE, NODE_BASE))
    assert choose_base_images(engine, environ={}, progress=_silent).emulators == PYTHON_BASE
    assert engine.pulls == [PYTHON_BASE, NODE_BASE]


def test_no_base_anywhere_says_how_to_make_one() -> None:
    with pytest.raises(ImageError) as raised:
        choose_base_images(FakeEngine(), environ={}, progress=_silent)
    message = str(raised.value)
    assert "python:3.11-slim-bookworm: lookup registry-1.docker.io: no such host" in message
    assert "run `cmg-harness images base`" in message and f"set {BASE_IMAGE_ENV}" in message


def test_the_argument_beats_the_variable_and_serves_both_dockerfiles() -> None:
    engine = FakeEngine({"mine:1": {}, "yours:2": {}})
    bases = choose_base_images(engine, "mine:1", environ={BASE_IMAGE_ENV: "yours:2"}, progress=_silent)
    assert (bases.emulators, bases.azurite, bases.explicit) == ("mine:1", "mine:1", True)
    assert choose_base_images(engine, environ={BASE_IMAGE_ENV: "yours:2"}, progress=_silent).azurite == "yours:2"


def test_a_named_base_that_cannot_be_had_names_its_source_and_the_remedy() -> None:
    with pytest.raises(ImageError, match=rf"mine:1 \(from \${BASE_IMAGE_ENV}\) is not here and could not be "
                                         r"pulled \(lookup .*\)\. .*`cmg-harness images base`"):
        choose_base_images(FakeEngine(), environ={BASE_IMAGE_ENV: "mine:1"}, progress=_silent)
    with pytest.raises(ImageError, match=rf"{OFFLINE_BASE} \(from the base_image argument\) is not here: run "
                                         r"`cmg-harness images base`"):
        choose_base_images(FakeEngine(), OFFLINE_BASE, environ={}, progress=_silent)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeEngine:
    """ensure_images() against a fake engine that has the offline base; a context is never really prepared."""
    engine = FakeEngine({OFFLINE_BASE: {}})
    monkeypatch.setattr(images, "_engine", lambda: engine)
    monkeypatch.setattr(images, "image_tag", lambda root=PROJECT_ROOT: "src-000000000001")
    monkeypatch.setattr(images, "prepare_context", lambda workdir, progress: workdir / "src-000000000001")
    monkeypatch.delenv(BASE_IMAGE_ENV, raising=False)
    return engine


def test_everything_missing_is_built_each_from_its_target(offline: FakeEngine, tmp_path: Path) -> None:
    names = images.ensure_images(progress=_silent, workdir=tmp_path)
    assert names == {service: f"cmg-harness/{service}:src-000000000001" for service in (*SERVICES, AZURITE)}
    assert [(kind, target) for kind, target, _ in offline.builds] == [
        *(("emulators", service) for service in SERVICES), ("azurite", "azurite")]
    assert offline.builds[0][2] == {"BASE_IMAGE": OFFLINE_BASE, "HARNESS_TAG": "src-000000000001"}
    assert offline.builds[-1][2] == {"BASE_IMAGE": OFFLINE_BASE, "AZURITE_VERSION": images.azurite_version(),
                                     "AZURITE_INPUTS": images.azurite_inputs()}


def test_images_of_the_current_tag_are_not_built_again(offline: FakeEngine, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    images.ensure_images(progress=_silent, workdir=tmp_path)
    offline.builds.clear()
    monkeypatch.setattr(images, "prepare_context", _no_commands)
    images.ensure_images(progress=_silent, workdir=tmp_path)
    assert offline.builds == []


def test_only_the_missing_image_is_built(offline: FakeEngine, tmp_path: Path) -> None:
    images.ensure_images(progress=_silent, workdir=tmp_path)
    del offline.images["cmg-harness/cmg:src-000000000001"]
    offline.builds.clear()
    images.ensure_images(progress=_silent, workdir=tmp_path)
    assert [target for _, target, _ in offline.builds] == ["cmg"]


def test_azurite_of_other_sources_is_tagged_not_built(offline: FakeEngine, tmp_path: Path) -> None:
    old = "cmg-harness/azurite:src-00000000000a"
    offline.images[old] = {LABEL_INPUTS: images.azurite_inputs(), LABEL_BASE: OFFLINE_BASE}
    images.ensure_images(progress=_silent, workdir=tmp_path)
    assert offline.tags == [(old, "cmg-harness/azurite:src-000000000001")]
    assert AZURITE not in [target for _, target, _ in offline.builds]


def test_a_named_base_rebuilds_images_another_base_made(offline: FakeEngine, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    images.ensure_images(progress=_silent, workdir=tmp_path)
    offline.images["mine:1"] = {}
    offline.builds.clear()
    monkeypatch.setenv(BASE_IMAGE_ENV, "mine:1")
    images.ensure_images(progress=_silent, workdir=tmp_path)
    assert len(offline.builds) == len(SERVICES) + 1
    assert {args["BASE_IMAGE"] for _, _, args in offline.builds} == {"mine:1"}


def test_no_engine_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(ImageError, match=r"no Docker engine answers .*docker.sock does not exist.*start dockerd"):
        images.ensure_images(progress=_silent)


def test_housekeeping_removes_older_tags_but_never_the_base_nor_an_image_in_use(
        monkeypatch: pytest.MonkeyPatch) -> None:
    current = image_tag()
    names = [f"cmg-harness/site:{current}", "cmg-harness/site:src-00000000000a", "cmg-harness/cmg:src-00000000000a",
             OFFLINE_BASE, "python:3.11-slim-bookworm"]
    removed: list[str] = []

    class Images(FakeEngine):
        def harness_images(self) -> list[Any]:
            return [FakeImage([name]) for name in names if name.startswith("cmg-harness/")]

        def remove(self, name: str) -> str | None:
            if name.startswith("cmg-harness/cmg:"):
                return "conflict: image is being used by running container 3f2a"
            removed.append(name)
            return None

    monkeypatch.setattr(images, "_engine", lambda: Images())
    listed = images.list_images()
    assert [(info.service, info.current) for info in listed] == [("base", True), ("site", True), ("cmg", False),
                                                                 ("site", False)]
    notes: list[str] = []
    assert images.remove_images(progress=notes.append) == ["cmg-harness/site:src-00000000000a"]
    assert notes == ["kept cmg-harness/cmg:src-00000000000a: conflict: image is being used by running container 3f2a"]
    removed.clear()
    images.remove_images(older_than_current=False, progress=_silent)
    assert removed == [f"cmg-harness/site:{current}", "cmg-harness/site:src-00000000000a"]


class FakeImage:
    def __init__(self, tags: list[str]) -> None:
        self.tags = tags
        self.attrs = {"Size": 1_000, "Created": "2026-11-29T12:00:00Z"}


# -- build output --------------------------------------------------------------------------------------------


def test_the_build_reports_the_steps_that_really_run() -> None:
    said: list[str] = []
    log = BuildLog(said.append, prefix="site: ")
    for text in ["Step 1/4 : FROM base AS install\n", " ---> 5f1c\n", "Step 2/4 : COPY wheels/deps /tmp\n",
                 " ---> Using cache\n", " ---> 77aa\n", "Step 3/4 : RUN pip install\n", " ---> Running in 1b\n",
                 "Step 4/4 : LABEL a=b\n", " ---> Running in 2c\n"]:
        log.feed({"stream": text})
    assert said == ["site: Step 3/4 : RUN pip install"]


def test_a_failed_build_raises_with_the_end_of_its_output() -> None:
    log = BuildLog(_silent, prefix="site: ")
    log.feed({"stream": "Step 3/4 : RUN pip install\n ---> Running in 1b\nERROR: No matching distribution\n"})
    with pytest.raises(ImageError, match=r"(?s)site: the build failed:.*No matching distribution.*returned a "
                                         r"non-zero code: 1"):
        log.feed({"error": "The command '/bin/sh -c pip install' returned a non-zero code: 1",
                  "errorDetail": {"code": 1}})


# -- the offline base ----------------------------------------------------------------------------------------


def test_the_mirror_is_the_one_apt_uses_for_bookworm(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\nURIs: http://mirror.example/debian/\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\nComponents: main\n")
    (tmp_path / "sources.list.d" / "nodesource.list").write_text("deb [arch=amd64] https://deb.nodesource.com x main\n")
    assert debian_mirror(tmp_path) == "http://mirror.example/debian"


def test_a_one_line_source_list_works_and_nothing_means_deb_debian_org(tmp_path: Path) -> None:
    assert debian_mirror(tmp_path) == "http://deb.debian.org/debian"
    (tmp_path / "sources.list").write_text("# deb http://old.example/debian bookworm main\n"
                                           "deb [signed-by=/k.gpg] https://near.example/debian bookworm main\n")
    assert debian_mirror(tmp_path) == "https://near.example/debian"


def test_debootstrap_progress_names_each_phase_once() -> None:
    said: list[str] = []
    phases = PhaseReporter(said.append)
    for line in ["I: Retrieving InRelease", "I: Retrieving libc6 2.36", "I: Validating libc6 2.36",
                 "I: Retrieving zlib1g", "W: Cannot check Release signature", "I: Extracting adduser...",
                 "I: Base system installed successfully."]:
        phases.feed(line)
    assert said == ["debootstrap: Retrieving InRelease", "debootstrap: Validating libc6 2.36",
                    "debootstrap: W: Cannot check Release signature", "debootstrap: Extracting adduser...",
                    "debootstrap: Base system installed successfully."]


def test_the_root_file_system_is_trimmed_but_keeps_licences_and_apt_folders(tmp_path: Path) -> None:
    files = ["usr/share/doc/bash/copyright", "usr/share/doc/bash/README.gz", "usr/share/man/man1/ls.1.gz",
             "usr/share/locale/de/LC_MESSAGES/dpkg.mo", "var/lib/apt/lists/deb.debian.org_InRelease",
             "var/cache/apt/pkgcache.bin", "var/log/dpkg.log", "etc/resolv.conf", "usr/bin/python3.11",
             "var/cache/debconf/config.dat"]
    _folder(tmp_path, dict.fromkeys(files, "x"))
    (tmp_path / "var/cache/apt/archives/partial").mkdir(parents=True)
    trim_rootfs(tmp_path)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["etc/dpkg/dpkg.cfg.d/cmg-harness-slim", "usr/bin/python3.11", "usr/share/doc/bash/copyright",
                    "var/cache/debconf/config.dat"]
    assert (tmp_path / "var/cache/apt/archives/partial").is_dir()
    assert "path-exclude /usr/share/doc/*" in (tmp_path / "etc/dpkg/dpkg.cfg.d/cmg-harness-slim").read_text()


def test_the_offline_base_needs_root_and_debootstrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images.os, "geteuid", lambda: 1000)
    with pytest.raises(ImageError, match=r"needs root .*`sudo cmg-harness images base`"):
        images.build_offline_base(progress=_silent)
    monkeypatch.setattr(images.os, "geteuid", lambda: 0)
    monkeypatch.setattr(images.shutil, "which", lambda name: None)
    with pytest.raises(ImageError, match="debootstrap is not installed: `apt-get install debootstrap`"):
        images.build_offline_base(progress=_silent)

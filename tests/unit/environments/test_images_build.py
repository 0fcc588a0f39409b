"""Container image tooling against a fake Docker engine: the choice of base image and its errors, what gets
built and what is reused, housekeeping, and what a build's output tells people."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from harness.environments import images
from harness.environments.image_engine import BuildLog, Engine
from harness.environments.image_names import (
    AZURITE,
    BASE_IMAGE_ENV,
    LABEL_BASE,
    LABEL_INPUTS,
    OFFLINE_BASE,
    PUBLIC_BASES,
    SERVICES,
    ImageError,
    azurite_inputs,
    azurite_version,
    image_tag,
)
from harness.environments.images import choose_base_images
from tests.unit.environments.images_helpers import no_commands, silent

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PYTHON_BASE, NODE_BASE = PUBLIC_BASES["emulators"], PUBLIC_BASES["azurite"]


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




def test_the_public_bases_when_they_are_here() -> None:
    bases = choose_base_images(FakeEngine({PYTHON_BASE: {}, NODE_BASE: {}}), environ={}, progress=silent)
    assert (bases.emulators, bases.azurite, bases.explicit) == (PYTHON_BASE, NODE_BASE, False)


def test_the_offline_base_serves_both_dockerfiles_without_trying_a_registry() -> None:
    engine = FakeEngine({OFFLINE_BASE: {}, PYTHON_BASE: {}})
    bases = choose_base_images(engine, environ={}, progress=silent)
    assert (bases.emulators, bases.azurite) == (OFFLINE_BASE, OFFLINE_BASE)
    assert engine.pulls == []


def test_the_public_bases_are_pulled_when_nothing_is_here() -> None:
    engine = FakeEngine(pullable=(PYTHON_BASE, NODE_BASE))
    assert choose_base_images(engine, environ={}, progress=silent).emulators == PYTHON_BASE
    assert engine.pulls == [PYTHON_BASE, NODE_BASE]


def test_no_base_anywhere_says_how_to_make_one() -> None:
    with pytest.raises(ImageError) as raised:
        choose_base_images(FakeEngine(), environ={}, progress=silent)
    message = str(raised.value)
    assert "python:3.11-slim-bookworm: lookup registry-1.docker.io: no such host" in message
    assert "run `cmg-harness images base`" in message and f"set {BASE_IMAGE_ENV}" in message


def test_the_argument_beats_the_variable_and_serves_both_dockerfiles() -> None:
    engine = FakeEngine({"mine:1": {}, "yours:2": {}})
    bases = choose_base_images(engine, "mine:1", environ={BASE_IMAGE_ENV: "yours:2"}, progress=silent)
    assert (bases.emulators, bases.azurite, bases.explicit) == ("mine:1", "mine:1", True)
    assert choose_base_images(engine, environ={BASE_IMAGE_ENV: "yours:2"}, progress=silent).azurite == "yours:2"


def test_a_named_base_that_cannot_be_had_names_its_source_and_the_remedy() -> None:
    with pytest.raises(ImageError, match=rf"mine:1 \(from \${BASE_IMAGE_ENV}\) is not here and could not be "
                                         r"pulled \(lookup .*\)\. .*`cmg-harness images base`"):
        choose_base_images(FakeEngine(), environ={BASE_IMAGE_ENV: "mine:1"}, progress=silent)
    with pytest.raises(ImageError, match=rf"{OFFLINE_BASE} \(from the base_image argument\) is not here: run "
                                         r"`cmg-harness images base`"):
        choose_base_images(FakeEngine(), OFFLINE_BASE, environ={}, progress=silent)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeEngine:
    """ensure_images() against a fake engine that has the offline base; a context is never really prepared."""
    engine = FakeEngine({OFFLINE_BASE: {}})
    monkeypatch.setattr(images, "connect_engine", lambda: engine)
    monkeypatch.setattr(images, "image_tag", lambda root=PROJECT_ROOT: "src-000000000001")
    monkeypatch.setattr(images, "prepare_context", lambda workdir, progress: workdir / "src-000000000001")
    monkeypatch.delenv(BASE_IMAGE_ENV, raising=False)
    return engine


def test_everything_missing_is_built_each_from_its_target(offline: FakeEngine, tmp_path: Path) -> None:
    names = images.ensure_images(progress=silent, workdir=tmp_path)
    assert names == {service: f"cmg-harness/{service}:src-000000000001" for service in (*SERVICES, AZURITE)}
    assert [(kind, target) for kind, target, _ in offline.builds] == [
        *(("emulators", service) for service in SERVICES), ("azurite", "azurite")]
    assert offline.builds[0][2] == {"BASE_IMAGE": OFFLINE_BASE, "HARNESS_TAG": "src-000000000001"}
    assert offline.builds[-1][2] == {"BASE_IMAGE": OFFLINE_BASE, "AZURITE_VERSION": azurite_version(),
                                     "AZURITE_INPUTS": azurite_inputs()}


def test_images_of_the_current_tag_are_not_built_again(offline: FakeEngine, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    images.ensure_images(progress=silent, workdir=tmp_path)
    offline.builds.clear()
    monkeypatch.setattr(images, "prepare_context", no_commands)
    images.ensure_images(progress=silent, workdir=tmp_path)
    assert offline.builds == []


def test_only_the_missing_image_is_built(offline: FakeEngine, tmp_path: Path) -> None:
    images.ensure_images(progress=silent, workdir=tmp_path)
    del offline.images["cmg-harness/cmg:src-000000000001"]
    offline.builds.clear()
    images.ensure_images(progress=silent, workdir=tmp_path)
    assert [target for _, target, _ in offline.builds] == ["cmg"]


def test_azurite_of_other_sources_is_tagged_not_built(offline: FakeEngine, tmp_path: Path) -> None:
    old = "cmg-harness/azurite:src-00000000000a"
    offline.images[old] = {LABEL_INPUTS: azurite_inputs(), LABEL_BASE: OFFLINE_BASE}
    images.ensure_images(progress=silent, workdir=tmp_path)
    assert offline.tags == [(old, "cmg-harness/azurite:src-000000000001")]
    assert AZURITE not in [target for _, target, _ in offline.builds]


def test_a_named_base_rebuilds_images_another_base_made(offline: FakeEngine, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    images.ensure_images(progress=silent, workdir=tmp_path)
    offline.images["mine:1"] = {}
    offline.builds.clear()
    monkeypatch.setenv(BASE_IMAGE_ENV, "mine:1")
    images.ensure_images(progress=silent, workdir=tmp_path)
    assert len(offline.builds) == len(SERVICES) + 1
    assert {args["BASE_IMAGE"] for _, _, args in offline.builds} == {"mine:1"}


def test_no_engine_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(ImageError, match=r"no Docker engine answers .*docker.sock does not exist.*start dockerd"):
        images.ensure_images(progress=silent)


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

    monkeypatch.setattr(images, "connect_engine", lambda: Images())
    listed = images.list_images()
    assert [(info.service, info.current) for info in listed] == [("base", True), ("site", True), ("cmg", False),
                                                                 ("site", False)]
    notes: list[str] = []
    assert images.remove_images(progress=notes.append) == ["cmg-harness/site:src-00000000000a"]
    assert notes == ["kept cmg-harness/cmg:src-00000000000a: conflict: image is being used by running container 3f2a"]
    removed.clear()
    images.remove_images(older_than_current=False, progress=silent)
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
    log = BuildLog(silent, prefix="site: ")
    log.feed({"stream": "Step 3/4 : RUN pip install\n ---> Running in 1b\nERROR: No matching distribution\n"})
    with pytest.raises(ImageError, match=r"(?s)site: the build failed:.*No matching distribution.*returned a "
                                         r"non-zero code: 1"):
        log.feed({"error": "The command '/bin/sh -c pip install' returned a non-zero code: 1",
                  "errorDetail": {"code": 1}})



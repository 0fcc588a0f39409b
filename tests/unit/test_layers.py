"""The folders of `harness/` depend on each other in one direction only, and the steps reach the emulated world
only through the drivers (and the shared model and wire names), never through an emulator's or the client's code.

The imports are read with `ast`, so an import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "harness"
# What steps may not import: behind these folders is the emulated world itself.
WORLD = ("harness.emulators", "harness.client")


def _imports(path: Path) -> Iterator[str]:
    """Every module `path` imports, absolute (the harness uses no relative imports)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _folder(module: str) -> str | None:
    """The folder of `harness/` a module lives in (harness.net.proxy -> net); None outside the harness or for a
    module at its top."""
    parts = module.split(".")
    if parts[0] != "harness" or len(parts) < 2 or not (HARNESS / parts[1]).is_dir():
        return None
    return parts[1]


def folder_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in HARNESS.rglob("*.py"):
        relative = path.relative_to(HARNESS)
        if len(relative.parts) < 2:
            continue  # harness/__init__.py and modules at the top (the CLI) stand above every folder
        mine = relative.parts[0]
        graph.setdefault(mine, set()).update(f for m in _imports(path) if (f := _folder(m)) not in (None, mine))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle found by a depth-first walk, as the path that closes it."""
    found: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return found


def test_no_folder_of_the_harness_depends_on_itself_through_another() -> None:
    graph = folder_graph()
    assert {"service", "emulators", "client", "net", "clock"} <= set(graph)  # the walk saw the code
    assert cycles(graph) == [], f"folders import each other in a cycle: {cycles(graph)}"


def test_the_steps_reach_the_emulated_world_only_through_the_drivers() -> None:
    crossings = sorted(f"{path.relative_to(ROOT)} imports {module}"
                       for path in (ROOT / "steps").rglob("*.py") for module in _imports(path)
                       if module.startswith(WORLD))
    assert crossings == [], "\n".join(crossings)


def test_step_modules_share_helpers_through_one_place_never_through_each_other() -> None:
    """A step module (given_…, when_…, then_…) may import the shared helpers (fixtures, vocabulary, tables) but no
    other step module: a step's definition is found in its domain's module, and nothing else depends on it."""
    steps = ROOT / "steps"
    modules = {path.stem for path in steps.glob("*.py") if path.stem.startswith(("given_", "when_", "then_"))}
    crossings = sorted(f"steps/{path.name} imports {module}"
                       for path in steps.glob("*.py") if path.stem in modules
                       for module in _imports(path) if module.split(".")[:2][-1] in modules)
    assert len(modules) > 5 and crossings == [], "\n".join(crossings)


def test_every_test_module_has_a_name_of_its_own() -> None:
    """The test folders have no __init__.py, so pytest imports each test module by its file name: two modules with
    one name in `tests/` and `features/` stop the whole run with "import file mismatch"."""
    modules = sorted(p for folder in ("tests", "features") for p in (ROOT / folder).rglob("test_*.py"))
    names: dict[str, list[str]] = {}
    for path in modules:
        names.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert len(modules) > 50
    assert {name: paths for name, paths in names.items() if len(paths) > 1} == {}


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []

"""Task sequence definitions as the admin API takes them (JSON), turned into the model.

    {"name": "Prepare", "group": [...children...], "continue_on_error": true, "condition": "VAR=value"}
    {"name": "Upgrade", "action": "Upgrade Operating System", "package": "PS100011", "duration": "40 minutes",
     "exit_code": "0xC1900208", "continue_on_error": false, "condition": {"variable": "X", "value": "1"}}
    {"name": "Download drivers", "action": "Download Package Content", "packages": ["PS100012"],
     "destination": "Custom path", "path": "C:\\\\Drivers", "variable": "DRIVERS", "continue_download_on_error": true}

Anything the console would not accept raises ValueError naming the node.
"""

from __future__ import annotations

import math
from typing import Any

from harness.model.task_sequence import Condition, Destination, DownloadOptions, Group, Step, StepAction
from harness.model.units import parse_duration
from harness.protocol import ts_policy as tsp

MAX_DEPTH = 16
MAX_STEP_SECONDS = 30 * 86400  # a step longer than a month is a typo, and would park a run for good


def parse_nodes(data: Any, depth: int = 0) -> tuple[Step | Group, ...]:
    if not isinstance(data, list) or not data:
        raise ValueError("'steps' must be a non-empty list of steps and groups")
    if depth > MAX_DEPTH:
        raise ValueError(f"groups are nested deeper than {MAX_DEPTH}")
    return tuple(_node(item, depth) for item in data)


def _node(data: Any, depth: int) -> Step | Group:
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise ValueError("each step or group is an object with a 'name'")
    if "group" in data:
        return Group(name=data["name"], children=parse_nodes(data["group"], depth + 1),
                     continue_on_error=_flag(data, "continue_on_error", False),
                     condition=_condition(data.get("condition"), data["name"]))
    return _step(data)


def _step(data: dict[str, Any]) -> Step:
    name = data["name"]
    if "action" not in data:
        raise ValueError(f"step {name!r} has no 'action'")
    action = StepAction.parse(str(data["action"]))
    package = data.get("package")
    if package is not None and not isinstance(package, str):
        raise ValueError(f"step {name!r}: 'package' must be a package ID string")
    packages = data.get("packages", [])
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise ValueError(f"step {name!r}: 'packages' must be a list of package IDs")
    return Step(name=name, action=action, package_id=package or None,
                duration=_duration(data.get("duration", 0), name),
                continue_on_error=_flag(data, "continue_on_error", False),
                condition=_condition(data.get("condition"), name), packages=tuple(packages),
                download=_download(data, name) if action is StepAction.DOWNLOAD_PACKAGE_CONTENT else None,
                exit_code=_exit_code(data.get("exit_code", 0), name))


def _download(data: dict[str, Any], name: str) -> DownloadOptions:
    destination = Destination.parse(str(data.get("destination", "Task sequence working directory")))
    path = str(data.get("path", ""))
    if (path and not (path[1:3] == ":\\" and path[0].upper() == "C")) or ".." in path:
        raise ValueError(f"step {name!r}: custom path {path!r} must be a folder on C:, e.g. C:\\Drivers")
    return DownloadOptions(destination=destination, path=path, variable=str(data.get("variable", "")),
                           continue_on_package_error=_flag(data, "continue_download_on_error", True))


def _condition(data: Any, name: str) -> Condition | None:
    if data is None:
        return None
    if isinstance(data, str) and "=" in data:
        variable, value = data.split("=", 1)
        return Condition(variable.strip(), value.strip())
    if isinstance(data, dict) and isinstance(data.get("variable"), str):
        return Condition(data["variable"], str(data.get("value", "")))
    raise ValueError(f"condition of {name!r} must be 'VARIABLE=value' or {{'variable', 'value'}}")


def _duration(value: Any, name: str) -> float:
    if isinstance(value, str):
        seconds = parse_duration(value) if value.strip() else 0.0
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise ValueError(f"step {name!r}: duration must be e.g. '40 minutes' or a number of seconds")
    if not math.isfinite(seconds) or seconds > MAX_STEP_SECONDS:
        raise ValueError(f"step {name!r}: duration must be finite and at most {MAX_STEP_SECONDS // 86400} days")
    return seconds


def _exit_code(value: Any, name: str) -> int:
    try:
        code = int(value, 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ValueError(f"step {name!r}: exit_code must be a number such as 0 or 0xC1900208") from None
    if not 0 <= code < 2**32:
        raise ValueError(f"step {name!r}: exit_code must fit in 32 bits")
    return code


def _flag(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{key!r} of {data.get('name')!r} must be true or false")
    return value


# -- model -> policy (what the client receives) -----------------------------------------------------

def to_policy(nodes: tuple[Step | Group, ...]) -> tuple[tsp.PolicyStep | tsp.PolicyGroup, ...]:
    return tuple(_policy_node(node) for node in nodes)


def _policy_node(node: Step | Group) -> tsp.PolicyStep | tsp.PolicyGroup:
    condition = None if node.condition is None else tsp.PolicyCondition(node.condition.variable, node.condition.value)
    if isinstance(node, Group):
        return tsp.PolicyGroup(node.name, to_policy(node.children), node.continue_on_error, condition)
    return tsp.PolicyStep(node.name, node.action.value, node.package_id, node.duration, node.continue_on_error,
                          condition, _download_options(node), node.exit_code)


def _download_options(step: Step) -> tuple[tuple[str, str], ...]:
    if step.download is None:
        return ()
    options = [("OSDDownloadDownloadPackages", ",".join(step.packages)),
               ("OSDDownloadDestinationLocationType", step.download.destination.value),
               ("OSDDownloadContinueDownloadOnError", "1" if step.download.continue_on_package_error else "0")]
    if step.download.variable:
        options.append(("OSDDownloadDestinationVariable", step.download.variable))
    if step.download.path:
        options.append(("OSDDownloadDestinationPath", step.download.path))
    return tuple(options)

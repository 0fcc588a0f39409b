"""Turns the scenario's step table (one row a step, a `group` column for nesting) into the site's
task sequence definition (nested JSON, see harness/emulators/site/definitions.py).

    | step | action | package | duration | group | continue on error | condition | exit code | destination | variable |

Only `step` and `action` are required. `group` is a path such as "Upgrade > Run Actions on Failure";
groups take their settings from the groups table (continue on error, condition). `package` may list
several IDs, comma-separated, for a Download Package Content step; `destination` is "Task sequence
working directory", "Configuration Manager client cache" or "Custom path C:\\Folder".
"""

from __future__ import annotations

from typing import Any

YES = {"yes", "true"}
CUSTOM = "custom path"


def step_definition(row: dict[str, str]) -> dict[str, Any]:
    step: dict[str, Any] = {"name": row["step"], "action": row["action"], "duration": row.get("duration") or 0}
    packages = [p.strip() for p in (row.get("package") or "").split(",") if p.strip()]
    if row["action"].lower() == "download package content":
        step["packages"] = packages
        _download_columns(row, step)
    elif packages:
        step["package"] = packages[0]
    if (row.get("continue on error") or "").lower() in YES:
        step["continue_on_error"] = True
    if row.get("condition"):
        step["condition"] = row["condition"]
    if row.get("exit code"):
        step["exit_code"] = row["exit code"]
    return step


def _download_columns(row: dict[str, str], step: dict[str, Any]) -> None:
    destination = (row.get("destination") or "").strip()
    if destination.lower().startswith(CUSTOM):
        step["destination"], step["path"] = "Custom path", destination[len(CUSTOM):].strip()
    elif destination:
        step["destination"] = destination
    if row.get("variable"):
        step["variable"] = row["variable"]
    if (row.get("continue download on error") or "").lower() in {"no", "false"}:
        step["continue_download_on_error"] = False


def build_tree(rows: list[dict[str, str]], groups: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in order; each row lands in its group path, groups created where first met."""
    top: list[dict[str, Any]] = []
    made: dict[str, list[dict[str, Any]]] = {"": top}
    for row in rows:
        path = [g.strip() for g in (row.get("group") or "").split(">") if g.strip()]
        _group_children(path, made, groups).append(step_definition(row))
    return top


def _group_children(path: list[str], made: dict[str, list[dict[str, Any]]],
                    groups: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    for depth in range(1, len(path) + 1):
        key = " > ".join(path[:depth])
        if key not in made:
            group = {"name": path[depth - 1], "group": [], **groups.get(path[depth - 1], {})}
            made[" > ".join(path[:depth - 1])].append(group)
            made[key] = group["group"]
    return made[" > ".join(path)]

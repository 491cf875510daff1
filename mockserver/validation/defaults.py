"""Schema defaults: a valid task completed with every default its schema declares, the form the
jobs, pricing and the reply work from.

It runs on every accepted submit, so the walk over the schema is planned once per task type.
"""

from __future__ import annotations

from copy import deepcopy
from functools import cache
from typing import Any

from mockserver.contract import task_schema

def with_defaults(task: dict) -> dict:
    """A copy of a valid task with every schema default filled in.

    ``safety.checkContent: true`` without a mode means ``fast``, as the spec says.
    """
    filled = deepcopy(task)
    _fill(filled, _defaults_plan(task["taskType"]))
    safety = filled.get("safety")
    if isinstance(safety, dict) and safety.get("checkContent") and "mode" not in task.get("safety", {}):
        safety["mode"] = "fast"
    return filled


_NO_DEFAULT = object()
DefaultsPlan = tuple[tuple[str, Any, "DefaultsPlan | None"], ...]


@cache
def _defaults_plan(task_type: str) -> DefaultsPlan:
    """(property, default, nested plan) for every property that has a default or holds some,
    read from the schema once per task type instead of walking it on every submit."""
    return _plan_of(task_schema(task_type))


def _plan_of(schema: dict) -> DefaultsPlan:
    plan = []
    for name, sub in schema.get("properties", {}).items():
        nested = _plan_of(sub) if sub.get("type") == "object" else None
        if "default" in sub or nested:
            default = sub.get("default", _NO_DEFAULT)
            if default is _NO_DEFAULT and nested and any(entry[1] is not _NO_DEFAULT for entry in nested):
                default = {}  # an absent object whose properties have defaults is created to hold them
            plan.append((name, default, nested or None))
    return tuple(plan)


def _fill(node: dict, plan: DefaultsPlan) -> None:
    for name, default, nested in plan:
        value = node.get(name, _NO_DEFAULT)
        if value is _NO_DEFAULT:
            if default is _NO_DEFAULT:
                continue
            value = node[name] = deepcopy(default)
        if nested is not None and isinstance(value, dict):
            _fill(value, nested)

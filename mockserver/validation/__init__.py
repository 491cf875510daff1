"""Turn a task into the Runware errors the API would return for it: schema, then profile.

Two layers read from ``schemas/``: the task's JSON Schema (shapes, bounds, allowed values;
``schema_errors``) and the model profile's rules (cross-field rules and allowed sizes;
``profile_rules``); then what no schema can say, the bytes of inline image inputs
(``inline_inputs``). Every violation becomes a ``RunwareError``; the list is ordered so that ``[0]``
is the one the API sends, and the whole list goes to the journal and to ``vidmock validate``.
``defaults`` fills in what a valid task left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mockserver.contract import task_types
from mockserver.contract.errors import RunwareError
from mockserver.validation.defaults import with_defaults
from mockserver.validation.inline_inputs import inline_errors
from mockserver.validation.profile_rules import profile_errors
from mockserver.validation.schema_errors import (
    SchemaValidator, json_type, parameter_path, schema_accepts, schema_violations,
)
from mockserver.contract.vocabulary import TaskType

__all__ = ["SchemaValidator", "parameter_path", "schema_accepts", "validate_task", "with_defaults"]

_INLINE_RANK = 3  # an undecodable image is a wrong value, ranked with the schema's (``schema_violations``)
_PROFILE_RANK = 4  # profile errors come after every schema violation


def validate_task(task: Any) -> list[RunwareError]:
    """Every violation of one task, most relevant first; ``[]`` when the API would accept it."""
    if not isinstance(task, dict):
        return [RunwareError("invalidTask", f"Each task must be a JSON object, got {json_type(task)}.",
                             type="object")]
    task_type = task.get("taskType")
    if task_type is None:
        return [RunwareError("missingTaskType", "Missing required parameter: taskType.",
                             parameter="taskType").for_task(task)]
    if task_type not in task_types():
        return [RunwareError("unsupportedTaskType", f"Unsupported taskType {task_type!r}.",
                             parameter="taskType", type="string", allowedValues=list(task_types())).for_task(task)]

    # --- the usual case: the schema holds, only the profile's rules and inline bytes are left ---
    if schema_accepts(task_type, task):
        if task_type != TaskType.VIDEO_INFERENCE:
            return []
        found_fast = inline_errors(task) if "inputs" in task else []  # most tasks have none
        found_fast += profile_errors(task, set())
        return [error.for_task(task) for error in found_fast]

    # --- schema violations, then the profile rules that read no broken field ---
    found = schema_violations(task_type, task)
    broken = {p for _, e in found for p in _parameters(e)}
    if task_type == TaskType.VIDEO_INFERENCE:
        found += [(_INLINE_RANK, e) for e in inline_errors(task) if e.parameter not in broken]
        if "model" not in broken:
            found += [(_PROFILE_RANK, e) for e in profile_errors(task, broken)]

    found.sort(key=lambda pair: (0 if pair[1].parameter in ("taskUUID", "taskType") else 1, pair[0]))
    return [error.for_task(task) for error in _distinct(error for _, error in found)]


def _distinct(errors: Iterable[RunwareError]) -> list[RunwareError]:
    """One error per code and parameter: a value can break two schema nodes at once (a
    ``mediaStorage`` media that is no string breaks its type and its operation's forms alike)."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for error in errors:
        key = (error.code, str(error.parameter))
        if key not in seen:
            seen.add(key)
            kept.append(error)
    return kept


def _parameters(error: RunwareError) -> list[str]:
    return error.parameter if isinstance(error.parameter, list) else [error.parameter or ""]

"""Turn a task into the Runware errors the API would return for it.

Two layers, both read from ``schemas/``: the task's JSON Schema (shapes, bounds, allowed values)
and the model profile's rules (cross-field rules and allowed sizes). Every violation becomes a
``RunwareError``; the list is ordered so that ``[0]`` is the one the API sends, and the whole list
goes to the journal and to ``vidmock validate``.
"""

from __future__ import annotations

import re
from functools import cache
from collections.abc import Callable, Iterator
from typing import Any

import fastjsonschema
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError
from jsonschema.validators import extend

from mockserver.contract import (
    allowed_sizes, ecma_regex, frame_positions, model_profile, task_schema, task_types,
)
from mockserver.errors import RunwareError

AIR_PATTERN = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$")

# What a failed pattern means, by the schema's pattern: used in messages.
_PATTERN_NAMES = {
    "taskUUID": "a UUID v4",
    "uuid": "a UUID",
    "httpURL": "an absolute http(s) URL",
    "dataURI": "a base64 data URI",
    "base64": "base64 data",
}

_JSON_TYPE_NAMES = {"number": "float"}

# Schema keywords in the order their violations are reported: a task's identity first, so the
# error can be routed, then what is missing, then what is extra, then values.
_KEYWORD_PRIORITY = {"required": 1, "additionalProperties": 2}


def _ecma_pattern(validator, pattern: str, instance: Any, schema: dict) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


SchemaValidator = extend(Draft7Validator, {"pattern": _ecma_pattern})
"""Draft-07 with ECMA-262 pattern anchors: the validator every part of vidmock uses."""


@cache
def _validator(task_type: str) -> Draft7Validator:
    """Compiled once per task type."""
    return SchemaValidator(task_schema(task_type))


@cache
def _compiled_check(task_type: str):
    return fastjsonschema.compile(task_schema(task_type), use_default=False)


def schema_accepts(task_type: str, task: Any) -> bool:
    """Whether the task fits its schema, in ~2 µs: fastjsonschema compiles the schema to Python.

    Most tasks are valid, so jsonschema (~40 µs and up) runs only for those that fail, to name every
    violation. tests/test_validator_agreement.py holds the two to the same verdicts.
    """
    try:
        _compiled_check(task_type)(task)
    except Exception:  # noqa: BLE001 - JsonSchemaException, or anything odd: let jsonschema decide
        return False
    return True


@cache
def _pattern_names() -> dict[str, str]:
    from mockserver.contract import load_json

    definitions = load_json("definitions.json")["definitions"]
    return {definitions[name]["pattern"]: label for name, label in _PATTERN_NAMES.items()}


def parameter_path(path: list[Any]) -> str:
    """``['inputs', 'frameImages', 0, 'image']`` -> ``inputs.frameImages[0].image``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _code(prefix: str, path: list[Any]) -> str:
    """Runware's naming: a prefix plus the parameter's own name (``invalidSeed``)."""
    names = [part for part in path if isinstance(part, str)]
    leaf = names[-1] if names else "Task"
    return prefix + leaf[0].upper() + leaf[1:]


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if value is None:
        return "null"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _schema_type(schema: dict) -> str | None:
    declared = schema.get("type")
    if isinstance(declared, str):
        return _JSON_TYPE_NAMES.get(declared, declared)
    if "anyOf" in schema and all(branch.get("type") == "string" for branch in schema["anyOf"]):
        return "string"
    return None


def _bounds(schema: dict, low: str, high: str) -> dict[str, Any]:
    return {"min": schema.get(low), "max": schema.get(high)}


def _range_text(bounds: dict[str, Any], unit: str = "") -> str:
    low, high = bounds["min"], bounds["max"]
    if low is not None and high is not None:
        return f"between {low} and {high}{unit}"
    return f"at least {low}{unit}" if low is not None else f"at most {high}{unit}"


def _schema_errors(error: ValidationError, prefix: tuple = ()) -> Iterator[RunwareError]:
    """Runware errors for one jsonschema error (``required`` may name several parameters).

    ``prefix`` locates errors of a sub-schema validated on its own (see ``_any_of_errors``).
    """
    path = list(prefix) + list(error.absolute_path)
    param = parameter_path(path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    keyword = error.validator
    value = error.instance
    kind = _schema_type(schema)

    if keyword == "required":
        for name in error.validator_value:
            if isinstance(value, dict) and name not in value:
                full = parameter_path(path + [name])
                yield RunwareError(_code("missing", path + [name]),
                                   f"Missing required parameter: {full}.", parameter=full)
        return
    if keyword == "additionalProperties":
        known = schema.get("properties", {})
        for name in value:
            if name not in known:
                full = parameter_path(path + [name])
                yield RunwareError("unsupportedParameter",
                                   f"Unsupported parameter: {full}. It is not defined for this task and model.",
                                   parameter=full)
        return
    if keyword == "anyOf":
        yield from _any_of_errors(error, path)
        return
    if keyword == "type":
        yield RunwareError(_code("invalid", path),
                           f"Invalid value for {param} parameter. Expected {kind or error.validator_value}, got {_json_type(value)}.",
                           parameter=param, type=kind)
        return
    if keyword in ("enum", "const"):
        allowed = list(schema["enum"]) if "enum" in schema else [schema["const"]]
        if path == ["model"]:
            yield _model_error(value)
            return
        shown = ", ".join(map(str, allowed))
        yield RunwareError(_code("unsupported", path),
                           f"Invalid value for {param} parameter. Allowed values: {shown}.",
                           parameter=param, type=kind, allowedValues=allowed)
        return
    if keyword in ("minimum", "maximum"):
        bounds = _bounds(schema, "minimum", "maximum")
        code = "unsupportedDuration" if path == ["duration"] else _code("invalid", path)
        yield RunwareError(code, f"Invalid value for {param} parameter. It must be {_range_text(bounds)}.",
                           parameter=param, type=kind, **bounds)
        return
    if keyword in ("minLength", "maxLength"):
        bounds = _bounds(schema, "minLength", "maxLength")
        code = _code("invalid", path)
        if path in (["positivePrompt"], ["negativePrompt"]):
            code += "Length"
        yield RunwareError(code, f"Invalid value for {param} parameter. Its length must be {_range_text(bounds, ' characters')}.",
                           parameter=param, type=kind, **bounds)
        return
    if keyword in ("minItems", "maxItems"):
        bounds = _bounds(schema, "minItems", "maxItems")
        yield RunwareError(_code("invalid", path),
                           f"Invalid value for {param} parameter. It must have {_range_text(bounds, ' items')}.",
                           parameter=param, type="array", **bounds)
        return
    if keyword == "pattern":
        what = _pattern_names().get(error.validator_value, "a value of the documented form")
        yield RunwareError(_code("invalid", path), f"Invalid value for {param} parameter. It must be {what}.",
                           parameter=param, type="string")
        return
    yield RunwareError(_code("invalid", path), f"Invalid value for {param} parameter: {error.message}.",
                       parameter=param, type=kind)


def _any_of_errors(error: ValidationError, path: list[Any]) -> Iterator[RunwareError]:
    """An item that may be a string or an object: judge it by the branch of its own type."""
    value = error.instance
    branches = error.validator_value
    same_type = [b for b in branches if b.get("type") == _json_type(value)]
    if isinstance(value, dict) and len(same_type) == 1:
        for sub in SchemaValidator(same_type[0]).iter_errors(value):
            yield from _schema_errors(sub, tuple(path))
        return
    param = parameter_path(path)
    accepted = "an image: a UUID, an http(s) URL, a data URI or base64"
    if all("image" not in str(b) for b in branches) and len(branches) == 2:
        accepted = "a UUID or an http(s) URL"
    if any(b.get("type") == "object" for b in branches):
        accepted += ", or an object {image, frame}"
    yield RunwareError(_code("invalid", path), f"Invalid value for {param} parameter. It must be {accepted}.",
                       parameter=param, type="string")


def _model_error(value: Any) -> RunwareError:
    served = model_profile()["model"]
    if isinstance(value, str) and AIR_PATTERN.match(value):
        return RunwareError("unknownModel", f"Unknown model {value}. vidmock serves {served}.",
                            parameter="model", type="string", allowedValues=[served])
    return RunwareError("invalidModel", "Invalid value for model parameter. It must be an AIR identifier such as "
                        f"{served}.", parameter="model", type="string", allowedValues=[served])


# --- model profile rules -------------------------------------------------------------------
# Each rule of the profile is compiled once into a check (task -> the error's extra fields, or
# None) that tests its cheapest condition first: a valid task passes a rule in a lookup or two.

RuleCheck = Callable[[dict], "dict | None"]
_MISSING = object()


def _getter(dotted: str) -> Callable[[dict], Any]:
    """The value at a dotted path of a task, or ``_MISSING``."""
    parts = tuple(dotted.split("."))

    def get(task: dict) -> Any:
        node: Any = task
        for part in parts:
            if not isinstance(node, dict):
                return _MISSING
            node = node.get(part, _MISSING)
            if node is _MISSING:
                break
        return node
    return get


Presence = Callable[[dict], bool]


def _presence(dotted: str) -> Presence:
    """Whether a task sends the field at a dotted path (one or two levels: a lookup or two)."""
    parts = dotted.split(".")
    if len(parts) == 1:
        return lambda task: dotted in task
    if len(parts) == 2:
        outer, inner = parts

        def present(task: dict) -> bool:
            node = task.get(outer)
            return isinstance(node, dict) and inner in node
        return present
    get = _getter(dotted)
    return lambda task: get(task) is not _MISSING


def _any_sent(sent: list[Presence], task: dict) -> bool:
    for present in sent:
        if present(task):
            return True
    return False


def _all_sent(sent: list[Presence], task: dict) -> bool:
    for present in sent:
        if not present(task):
            return False
    return True


def _require_any_of(rule: dict, model: str) -> RuleCheck:
    """Broken when no field of any group is sent (a partial group is the 'together' rule's)."""
    fields = [f for group in rule["groups"] for f in group]
    sent = [_presence(f) for f in fields]
    return lambda task: None if _any_sent(sent, task) else {"parameter": list(fields)}


def _together(rule: dict, model: str) -> RuleCheck:
    fields, sent = rule["fields"], [_presence(f) for f in rule["fields"]]

    def check(task: dict) -> dict | None:
        given = [p(task) for p in sent]
        if not any(given) or all(given):
            return None
        missing = [f for f, was_sent in zip(fields, given) if not was_sent]
        return {"parameter": missing[0] if len(missing) == 1 else missing}
    return check


def _mutually_exclusive(rule: dict, model: str) -> RuleCheck:
    fields, sent = rule["fields"], [_presence(f) for f in rule["fields"]]
    return lambda task: {"parameter": list(fields)} if _all_sent(sent, task) else None


def _required_unless(rule: dict, model: str) -> RuleCheck:
    field, sent, unless = rule["field"], _presence(rule["field"]), [_presence(f) for f in rule["unless"]]
    return lambda task: None if sent(task) or _any_sent(unless, task) else {"parameter": field, "type": "string"}


def _max_when(rule: dict, model: str) -> RuleCheck:
    field, maximum, get, when = rule["field"], rule["max"], _getter(rule["field"]), [_presence(f) for f in rule["when"]]

    def check(task: dict) -> dict | None:
        value = get(task)
        if isinstance(value, int) and value > maximum and _any_sent(when, task):
            return {"parameter": field, "type": "integer", "max": maximum}
        return None
    return check


def _requires_any_of(rule: dict, model: str) -> RuleCheck:
    sent, any_of = _presence(rule["field"]), [_presence(f) for f in rule["anyOf"]]
    return lambda task: {"parameter": list(rule["anyOf"])} if sent(task) and not _any_sent(any_of, task) else None


def _allowed_size(rule: dict, model: str) -> RuleCheck:
    sizes = [(w, h) for w, h, _ in allowed_sizes(model)]
    allowed, names = frozenset(sizes), [f"{w}x{h}" for w, h in sizes]

    def check(task: dict) -> dict | None:
        width, height = task.get("width"), task.get("height")
        if isinstance(width, int) and isinstance(height, int) and (width, height) not in allowed:
            return {"parameter": ["width", "height"], "type": "integer", "allowedValues": list(names)}
        return None
    return check


def _distinct_frame_positions(rule: dict, model: str) -> RuleCheck:
    get = _getter("inputs.frameImages")

    def check(task: dict) -> dict | None:
        frames = get(task)
        if isinstance(frames, list):
            positions = frame_positions(frames)
            if len(set(positions)) < len(positions):
                return {"parameter": "inputs.frameImages", "type": "array", "allowedValues": ["first", "last", 0, -1]}
        return None
    return check


_RULE_KINDS: dict[str, Callable[[dict, str], RuleCheck]] = {
    "requireAnyOf": _require_any_of, "together": _together, "mutuallyExclusive": _mutually_exclusive,
    "requiredUnless": _required_unless, "maxWhen": _max_when, "requiresAnyOf": _requires_any_of,
    "allowedSize": _allowed_size, "distinctFramePositions": _distinct_frame_positions,
}


def _compile_rule(rule: dict, model: str) -> RuleCheck:
    try:
        return _RULE_KINDS[rule["kind"]](rule, model)
    except KeyError:
        raise ValueError(f"unknown rule kind {rule['kind']!r} in the model profile") from None


def _rule_fields(rule: dict) -> list[str]:
    fields = list(rule.get("fields", [])) + [f for g in rule.get("groups", []) for f in g]
    fields += [rule[key] for key in ("field",) if key in rule]
    fields += list(rule.get("unless", [])) + list(rule.get("when", [])) + list(rule.get("anyOf", []))
    if rule["kind"] == "allowedSize":
        fields += ["width", "height", "model"]
    if rule["kind"] == "distinctFramePositions":
        fields += ["inputs.frameImages"]
    return fields


@cache
def _compiled_rules(model: str) -> tuple[tuple[dict, tuple[str, ...], RuleCheck], ...]:
    """Each profile rule with the fields it reads and its check, worked out once per model."""
    return tuple((rule, tuple(_rule_fields(rule)), _compile_rule(rule, model)) for rule in model_profile(model)["rules"])


def _profile_errors(task: dict, broken: set[str]) -> Iterator[RunwareError]:
    """Cross-field rules, skipped where a field they read already failed the schema."""
    for rule, fields, check in _compiled_rules(task["model"]):
        if broken and any(_overlaps(field, bad) for field in fields for bad in broken):
            continue
        extra = check(task)
        if extra is not None:
            yield RunwareError(rule["code"], _rule_message(rule, task, extra), **extra)


def _rule_message(rule: dict, task: dict, extra: dict) -> str:
    """The profile's sentence, plus what was sent and what is allowed where the rule has a list."""
    message = rule["message"]
    if rule["kind"] == "allowedSize":
        message += f" Got {task['width']}x{task['height']}."
    if "allowedValues" in extra:
        message += " Allowed values: " + ", ".join(map(str, extra["allowedValues"])) + "."
    return message


def _overlaps(field: str, bad: str) -> bool:
    """``inputs.frameImages`` and ``inputs.frameImages[0].image`` concern the same value."""
    return field == bad or bad.startswith((field + ".", field + "[")) or field.startswith(bad + ".")


# --- entry points --------------------------------------------------------------------------


def validate_task(task: Any) -> list[RunwareError]:
    """Every violation of one task, most relevant first; ``[]`` when the API would accept it."""
    if not isinstance(task, dict):
        return [RunwareError("invalidTask", f"Each task must be a JSON object, got {_json_type(task)}.",
                             type="object")]
    task_type = task.get("taskType")
    if task_type is None:
        return [RunwareError("missingTaskType", "Missing required parameter: taskType.",
                             parameter="taskType").for_task(task)]
    if task_type not in task_types():
        return [RunwareError("unsupportedTaskType", f"Unsupported taskType {task_type!r}.",
                             parameter="taskType", type="string", allowedValues=list(task_types())).for_task(task)]

    if schema_accepts(task_type, task):  # the usual case: only the profile's rules are left to check
        profile = list(_profile_errors(task, set())) if task_type == "videoInference" else []
        return [error.for_task(task) for error in profile]
    found: list[tuple[int, RunwareError]] = []
    for error in _validator(task_type).iter_errors(task):
        priority = _KEYWORD_PRIORITY.get(error.validator, 3)
        found += [(priority, runware_error) for runware_error in _schema_errors(error)]
    broken = {p for _, e in found for p in _parameters(e)}
    if task_type == "videoInference" and "model" not in broken:
        found += [(4, e) for e in _profile_errors(task, broken)]

    found.sort(key=lambda pair: (0 if pair[1].parameter in ("taskUUID", "taskType") else 1, pair[0]))
    return [error.for_task(task) for _, error in found]


def _parameters(error: RunwareError) -> list[str]:
    return error.parameter if isinstance(error.parameter, list) else [error.parameter or ""]


def with_defaults(task: dict) -> dict:
    """A copy of a valid task with every schema default filled in.

    ``safety.checkContent: true`` without a mode means ``fast``, as the spec says.
    """
    filled = _copy_json(task)
    _fill(filled, _defaults_plan(task["taskType"]))
    safety = filled.get("safety")
    if isinstance(safety, dict) and safety.get("checkContent") and "mode" not in task.get("safety", {}):
        safety["mode"] = "fast"
    return filled


_CONTAINERS = (dict, list)


def _copy_json(node: Any) -> Any:
    """A copy of parsed JSON (dicts, lists, scalars): what ``deepcopy`` does, on every submit, for
    less; scalars (most values) are taken as they are, without a call."""
    if isinstance(node, dict):
        return {key: _copy_json(value) if isinstance(value, _CONTAINERS) else value for key, value in node.items()}
    if isinstance(node, list):
        return [_copy_json(value) if isinstance(value, _CONTAINERS) else value for value in node]
    return node


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
            value = node[name] = _copy_json(default) if isinstance(default, _CONTAINERS) else default
        if nested is not None and isinstance(value, dict):
            _fill(value, nested)

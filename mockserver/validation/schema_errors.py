"""The JSON-Schema layer: whether a task fits its schema, and if not, the Runware errors naming
every violation.

The verdict comes from fastjsonschema, compiled to Python; jsonschema, slower but precise about
where and why, runs only for the tasks that fail, to turn each of its errors into the
``RunwareError`` the API would send. Patterns are ECMA-262, as JSON Schema says.
"""

from __future__ import annotations

import re
from functools import cache
from collections.abc import Iterator
from typing import Any

import fastjsonschema
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError
from jsonschema.validators import extend

from mockserver.contract import ecma_regex, load_json, model_profile, task_schema
from mockserver.contract.errors import RunwareError
from mockserver.media.formats import KIND_NAMES
from mockserver.validation.inline_inputs import INPUT_KINDS

AIR_PATTERN = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$")

# What a failed pattern means, by the schema's pattern: used in messages.
_PATTERN_NAMES = {
    "taskUUID": "a UUID",
    "uuid": "a UUID",
    "httpURL": "an absolute http(s) URL",
    "dataURI": "a base64 data URI",
    "base64": "base64 data",
}

_JSON_TYPE_NAMES = {"number": "float"}

# What a media parameter takes, by its name: an input's kind, or any kind for mediaStorage's ``media``.
_MEDIA_SUBJECTS = {name: KIND_NAMES[kind] for name, kind in INPUT_KINDS.items()} | {
    "media": "an image, a video or audio"}

# Schema keywords in the order their violations are reported (the caller puts a task's identity
# first, so the error can be routed): what is missing, then what is extra, then values (3).
_KEYWORD_PRIORITY = {"required": 1, "additionalProperties": 2}
_VALUE_PRIORITY = 3


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
    violation. tests/server/test_validator_agreement.py holds the two to the same verdicts.
    """
    try:
        _compiled_check(task_type)(task)
    except Exception:  # noqa: BLE001 - JsonSchemaException, or anything odd: let jsonschema decide
        return False
    return True


@cache
def _pattern_names() -> dict[str, str]:
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


def json_type(value: Any) -> str:
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


def _bounded_error(code: str, param: str, schema: dict, kind: str | None) -> RunwareError:
    """A number out of its bounds, worded and keyed as the live ``invalidWidth`` is ("Invalid value
    for 'width' parameter. Image width must be an integer value between 256 and 16383, in
    multiples of '1'.", with ``min``, ``max``, ``multiplier``): an integer's step is 1 unless the
    schema names one. The subject is the schema's ``title``, else the parameter's own name."""
    bounds = _bounds(schema, "minimum", "maximum")
    step = schema.get("multipleOf", 1 if kind == "integer" else None)
    noun = schema.get("title") or _noun(param)
    article = "an" if (kind or "number")[0] in "aeiou" else "a"
    low, high = bounds["min"], bounds["max"]
    span = (f"between {low} and {high}" if low is not None and high is not None
            else f"of at least {low}" if low is not None else f"of at most {high}" if high is not None else "")
    text = f"Invalid value for '{param}' parameter. {noun} must be {article} {kind or 'number'} value"
    text += (f" {span}" if span else "") + (f", in multiples of '{step}'" if step is not None else "") + "."
    return RunwareError(code, text, parameter=param, type=kind, **bounds, multiplier=step)


def _noun(param: str) -> str:
    """``outputQuality`` -> ``Output quality``; a nested parameter by its last name."""
    leaf = re.sub(r"\[\d+\]", "", param).rsplit(".", 1)[-1]
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", leaf).lower()
    return words[:1].upper() + words[1:]


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
                           f"Invalid value for {param} parameter. Expected {kind or error.validator_value}, got {json_type(value)}.",
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
    if keyword in ("minimum", "maximum", "multipleOf"):
        code = "unsupportedDuration" if path == ["duration"] else _code("invalid", path)
        yield _bounded_error(code, param, schema, kind)
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
    same_type = [b for b in branches if b.get("type") == json_type(value)]
    if isinstance(value, dict) and len(same_type) == 1:
        for sub in SchemaValidator(same_type[0]).iter_errors(value):
            yield from _schema_errors(sub, tuple(path))
        return
    param = parameter_path(path)
    names = [part for part in path if isinstance(part, str)]
    subject = _MEDIA_SUBJECTS.get(names[-1] if names else "", "an image")
    leaves = [leaf for b in branches for leaf in b.get("anyOf", [b])]  # an image input is an anyOf itself
    forms = [_pattern_names()[b["pattern"]] for b in leaves if b.get("pattern") in _pattern_names()]
    accepted = f"{subject}: " + (", ".join(forms[:-1]) + " or " + forms[-1] if len(forms) > 1 else "".join(forms))
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


def schema_violations(task_type: str, task: Any) -> list[tuple[int, RunwareError]]:
    """Every schema violation of a task as (rank, error): missing 1, extra 2, values 3."""
    found: list[tuple[int, RunwareError]] = []
    for error in _validator(task_type).iter_errors(task):
        priority = _KEYWORD_PRIORITY.get(error.validator, _VALUE_PRIORITY)
        found += [(priority, runware_error) for runware_error in _schema_errors(error)]
    return found

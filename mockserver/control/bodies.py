"""What a ``/__mock/`` call may send: JSON Schemas kept as data in ``schemas/control/control.json``.

Every body and query is checked against its schema and nothing else, so the served OpenAPI
document (built from the same file) and the checks never disagree. The file is data with two kinds
of placeholder, filled in here so each fact stays stated once: ``{"x-enum": NAME}`` takes the
values of a ``StrEnum`` of ``mockserver/contract/vocabulary.py``, ``{"x-fragment": NAME}`` one of the
``FRAGMENTS`` below (the progression grammar, the error-code catalogue, the generation indices). A refusal names the field
and says what it takes, from the schema's ``x-message`` where it has one.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from aiohttp import web
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from mockserver.contract import load_json, task_schema
from mockserver.contract.errors import CATALOGUE, LIVE_ERRORS, TRANSIENT_STATUSES, RunwareError
from mockserver.contract.vocabulary import Progression, TaskType, VOCABULARIES

SCHEMA_FILE = "control/control.json"
REF_PREFIX = "#/definitions/"
_GENERIC_CODE = r"^(missing|invalid|unsupported)[A-Z][A-Za-z0-9]*$"  # invalidSeed, missingTaskUUID, ...
_LAST_GENERATION = task_schema(TaskType.VIDEO_INFERENCE)["properties"]["numberResults"]["maximum"] - 1  # 0-based

FRAGMENTS: dict[str, dict] = {
    "progression": {"type": "string", "pattern": Progression.PATTERN,
                    "examples": ["immediate", "polls:2", "seconds:30", "manual"]},
    "transientStatus": {"type": "integer", "enum": sorted(TRANSIENT_STATUSES)},
    "liveErrorCode": {"type": "string", "enum": sorted(LIVE_ERRORS)},
    "generationIndex": {"type": "integer", "minimum": 0, "maximum": _LAST_GENERATION,
                        "x-message": f"{{path}}: {{value}} is not a generation index (0..{_LAST_GENERATION})"},
    "errorCode": {"type": "string", "anyOf": [
        {"enum": sorted(code for code in CATALOGUE if "<" not in code)}, {"pattern": _GENERIC_CODE}]},
}


def bad_control_request(message: str) -> RunwareError:
    return RunwareError("invalidControlRequest", message)


def _expand(node: Any) -> Any:
    if isinstance(node, list):
        return [_expand(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _expand(value) for key, value in node.items()}
    if "x-enum" in node:
        node = {"type": "string", "enum": [member.value for member in VOCABULARIES[node.pop("x-enum")]], **node}
    if "x-fragment" in node:
        node = {**FRAGMENTS[node.pop("x-fragment")], **node}
    return node


@cache
def definitions() -> dict[str, dict]:
    """Every named schema of the control plane, placeholders filled in."""
    return _expand(load_json(SCHEMA_FILE)["definitions"])


@cache
def _validator(name: str) -> Draft7Validator:
    return Draft7Validator({"$ref": REF_PREFIX + name, "definitions": definitions()})


def check(name: str, value: Any, what: str = "") -> Any:
    """``value`` if it fits the schema ``name``; else ``invalidControlRequest`` saying why."""
    error = _worst(list(_validator(name).iter_errors(value)))
    if error is not None:
        raise bad_control_request(f"{what}{_message(error).rstrip('.')}.")
    return value


def accepts_no_body(name: str) -> bool:
    """Whether a call may leave out the body of schema ``name``: an empty body is read as ``{}``."""
    return not any(_validator(name).iter_errors({}))


def check_query(name: str, request: web.Request) -> dict[str, Any]:
    """The query of a request, read as the schema ``name`` types its parameters, and checked."""
    properties = definitions()[name]["properties"]
    query: dict[str, Any] = {}
    for key, raw in request.query.items():
        kind = properties.get(key, {}).get("type")
        if kind in ("integer", "number"):
            try:
                number = int(raw) if kind == "integer" else float(raw)
            except ValueError:
                raise bad_control_request(f"{key} must be {'an integer' if kind == 'integer' else 'a number'}.") from None
            if not math.isfinite(number):
                raise bad_control_request(f"{key} must be finite.")
            query[key] = number
        elif key in properties:
            query[key] = raw
    return check(name, query)


def _worst(errors: list[ValidationError]) -> ValidationError | None:
    """The error worth reporting: a wrong type first (nothing else can be judged there), then one
    whose schema says what it takes (``x-message``), else the deepest; an ``anyOf``/``oneOf`` that
    says nothing is judged by its branches' errors."""
    if not errors:
        return None
    worst = max(errors, key=lambda error: (error.validator == "type", -len(error.absolute_path) if
                                           error.validator == "type" else 0, _own_message(error) is not None,
                                           len(error.absolute_path)))
    if _own_message(worst) is None and worst.context:
        return _worst(list(worst.context))
    return worst


def _own_message(error: ValidationError) -> str | None:
    schema = error.schema if isinstance(error.schema, dict) else {}
    return schema.get("x-message")


def _message(error: ValidationError) -> str:
    path = ".".join(str(part) for part in error.absolute_path) or "the body"
    own = _own_message(error)
    parent = error.parent
    while own is None and parent is not None:  # an anyOf/oneOf branch: the combinator's message
        own, parent = _own_message(parent), parent.parent
    if own is not None:
        return own.replace("{path}", path).replace("{value}", str(error.instance))
    keyword, schema = error.validator, error.schema if isinstance(error.schema, dict) else {}
    if keyword == "enum":
        return f"{path} must be one of {', '.join(map(str, schema['enum']))}"
    if keyword == "const":
        return f"{path} must be {schema['const']}"
    if keyword == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        return f"{path} needs {', '.join(missing)}"
    if keyword == "additionalProperties":
        return f"{path} has unknown field(s): {', '.join(sorted(set(error.instance) - set(schema.get('properties', {}))))}"
    if keyword == "type":
        return f"{path} must be of type {error.validator_value}"
    if keyword in ("minimum", "maximum"):
        return f"{path} must be within {schema.get('minimum', '-inf')}..{schema.get('maximum', 'inf')}"
    return f"{path}: {error.message}"

"""The OpenAPI 3.1 description of ``/__mock/``, served at ``GET /__mock/openapi.json``.

Built from the two facts it describes: the route table (``routes.ROUTES``: paths, methods, which
schema each body, query and reply has) and the control schemas (``schemas/control/control.json``,
the ones bodies and queries are checked against). Nothing here restates a field.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from mockserver.contract.protocol import CONTROL_MOUNT
from mockserver.control.bodies import REF_PREFIX, accepts_no_body, definitions
from mockserver.control.middleware import TOKEN_HEADER, OPEN_PATHS
from mockserver.control.routes import ROUTES, Route

MOUNT = CONTROL_MOUNT.rstrip("/")  # route paths start with "/"
COMPONENTS = "#/components/schemas/"
ERROR_DESCRIPTIONS = {
    400: "The request is not valid (code invalidControlRequest).",
    401: "Control token missing or wrong (code invalidControlToken).",
    404: "No such task or fault in this namespace (code controlResourceNotFound).",
}


def _ref(name: str) -> dict:
    return {"$ref": COMPONENTS + name}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _reply(route: Route) -> dict:
    if route.path == "/":
        return {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}
    if route.reply is None:
        return _json({"type": "object"}, route.summary)
    return _json(_ref(route.reply), route.summary)


def _errors(route: Route) -> dict:
    errors = {}
    for status in route.errors:
        if status == 408:
            errors["408"] = _json(_ref(route.reply), "Timed out: the state so far (the records, or the task as it stands)")
        else:
            errors[str(status)] = _json(_ref("ErrorEnvelope"), ERROR_DESCRIPTIONS[status])
    if not (route.method == "GET" and MOUNT + route.path in OPEN_PATHS):
        errors["401"] = _json(_ref("ErrorEnvelope"), ERROR_DESCRIPTIONS[401])
    return errors


def _parameters(route: Route) -> list[dict]:
    parameters: list[dict] = [{"$ref": "#/components/parameters/ApiKey"}]
    parameters += [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                   for name in re.findall(r"\{(\w+)\}", route.path)]
    if route.query is not None:
        query = definitions()[route.query]
        parameters += [{"name": name, "in": "query", "required": name in query.get("required", ()),
                        "schema": {k: v for k, v in schema.items() if k != "description"},
                        "description": schema.get("description", "")}
                       for name, schema in query["properties"].items()]
    return parameters


def _operation(route: Route) -> dict:
    operation: dict[str, Any] = {"summary": route.summary, "operationId": route.handler.__name__,
                                 "parameters": _parameters(route),
                                 "responses": {str(route.status): _reply(route), **_errors(route)}}
    if route.body is not None:
        operation["requestBody"] = {"required": not accepts_no_body(route.body),  # an empty body is {}
                                    "content": {"application/json": {"schema": _ref(route.body)}}}
    return operation


@cache
def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict] = {}
    for route in ROUTES:
        paths.setdefault(MOUNT + route.path, {})[route.method.lower()] = _operation(route)
    schemas = json.loads(json.dumps(definitions()).replace(f'"{REF_PREFIX}', f'"{COMPONENTS}'))
    return {
        "openapi": "3.1.0",
        "info": {"title": "vidmock control API", "version": "1",
                 "description": "Inspect and steer a running vidmock: journal, faults, scenarios, progression, "
                                "tasks, virtual clock, reset, deliveries, WebSocket drops. See docs/control.md."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": {"ApiKey": {"name": "apiKey", "in": "query", "required": False, "schema": {"type": "string"},
                                      "description": "namespace (or Authorization: Bearer KEY); none: every namespace"}},
            "securitySchemes": {"controlToken": {"type": "apiKey", "in": "header", "name": TOKEN_HEADER}},
        },
        "security": [{"controlToken": []}, {}],
    }

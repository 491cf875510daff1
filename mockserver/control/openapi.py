"""The OpenAPI 3.1 description of ``/__mock/``, served at ``GET /__mock/openapi.json``.

Built here rather than kept as a JSON file so each operation reads as one line; the tests check
that every registered ``/__mock/`` route appears in it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

REF = "#/components/schemas/"


def _ref(name: str) -> dict:
    return {"$ref": REF + name}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return _json(_ref("ErrorEnvelope"), description)


def _op(summary: str, ok: dict, *, body: dict | None = None, params: tuple = (), errors: dict | None = None,
        ok_status: str = "200") -> dict:
    operation: dict[str, Any] = {"summary": summary, "parameters": [{"$ref": "#/components/parameters/ApiKey"},
                                                                    *params],
                                 "responses": {ok_status: ok, "401": _error("Control token missing or wrong."),
                                               **(errors or {})}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _path(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}


def _obj(properties: dict, required: tuple = ()) -> dict:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


BAD = {"400": _error("The request is not valid (code invalidControlRequest).")}
MISSING = {"404": _error("No such task or fault in this namespace (code controlResourceNotFound).")}
TASK = _path("taskUUID", "The task's UUID.")
POLICY_BODY = {**_obj({"policy": {"type": ["string", "null"], "examples": ["polls:2", "seconds:30", "manual"],
                                  "description": "immediate | polls:N | seconds:T | manual; null clears"},
                       "results": {"enum": ["together", "staggered", None],
                                   "description": "result release: together (all results in one reply) | "
                                                  "staggered (one more per poll once done); null clears"}}),
               "minProperties": 1, "description": "policy and/or results; a field left out is unchanged"}

SCHEMAS: dict[str, Any] = {
    "ErrorEnvelope": _obj({"errors": {"type": "array", "items": _obj(
        {"code": {"type": "string"}, "message": {"type": "string"}, "documentation": {"type": "string"}},
        ("code", "message"))}}, ("errors",)),
    "JournalEntry": _obj({
        "id": {"type": "integer"}, "namespace": {"type": ["string", "null"]},
        "transport": {"enum": ["rest", "ws"]}, "direction": {"enum": ["in"]},
        "remote": {"type": ["string", "null"]}, "method": {"type": ["string", "null"]}, "path": {"type": "string"},
        "requestId": {"type": "string"}, "receivedAt": {"type": "number", "description": "server clock"},
        "receivedWall": {"type": "number", "description": "Unix time"}, "durationMs": {"type": "number"},
        "headers": {"type": "object"}, "rawBody": {"type": ["string", "null"]},
        "tasks": {"type": ["array", "null"]}, "valid": {"type": "boolean"},
        "violations": {"type": "array", "items": _obj({"taskIndex": {"type": "integer"},
                                                       "taskType": {"type": ["string", "null"]},
                                                       "taskUUID": {"type": ["string", "null"]},
                                                       "errors": {"type": "array"}})},
        "response": _obj({"status": {"type": ["integer", "null"]}, "headers": {"type": "object"}, "body": {}}),
        "faults": {"type": "array", "items": {"type": "object"}}, "scenarios": {"type": "array"},
    }),
    "FaultSpec": _obj({
        "action": {"enum": ["status", "delay", "reset", "malformed", "truncated", "close1011", "abort",
                            "taskError", "nsfw", "webhook"]},
        "match": _obj({"taskType": {"type": "string"}, "taskUUID": {"type": "string"},
                       "transport": {"enum": ["rest", "ws"]}}),
        "times": {"oneOf": [{"type": "integer", "minimum": 1}, {"const": "unlimited"}], "default": 1},
        "perTask": {"type": "boolean", "default": False},
        "status": {"enum": [429, 500, 502, 503, 504]}, "retryAfter": {"type": "integer", "minimum": 0},
        "code": {"type": "string"}, "message": {"type": "string"},
        "ms": {"type": "number"}, "minMs": {"type": "number"}, "maxMs": {"type": "number"},
        "medianMs": {"type": "number"}, "sigma": {"type": "number"}, "processed": {"type": "boolean"},
        "delayMs": {"type": "number"}, "duplicate": {"type": "boolean"}, "reorder": {"type": "boolean"},
    }, ("action",)),
    "Fault": {"allOf": [_ref("FaultSpec"), _obj({"id": {"type": "string"}, "namespace": {"type": ["string", "null"]},
                                                  "applied": {"type": "integer"},
                                                  "remaining": {"type": ["integer", "null"]},
                                                  "source": {"type": "string"}})]},
    "Task": _obj({"namespace": {"type": "string"}, "taskUUID": {"type": "string"},
                  "status": {"enum": ["processing", "success", "error", "expired"]}, "policy": {"type": "string"},
                  "polls": {"type": "integer"}, "resultRelease": {"enum": ["together", "staggered"]},
                  "submittedAt": {"type": "number"}, "finishedAt": {"type": ["number", "null"]},
                  "results": {"type": "array",
                              "description": "every result once success; those released so far while staggered"},
                  "error": {"type": ["object", "null"]}, "synthesisStderr": {"type": ["string", "null"]},
                  "webhookURL": {"type": ["string", "null"]}, "uploadEndpoint": {"type": ["string", "null"]},
                  "task": {"type": "object"}}),
    "Clock": _obj({"now": {"type": "number"}, "offset": {"type": "number"}, "frozen": {"type": "boolean"}}),
    "Deliveries": _obj({"deliveries": {"type": "array", "items": {"type": "object"}}}),
}

PATHS: dict[str, Any] = {
    "/__mock/": {"get": {"summary": "The dashboard (static HTML; exempt from the control token).",
                         "responses": {"200": {"description": "HTML page",
                                               "content": {"text/html": {"schema": {"type": "string"}}}}}}},
    "/__mock/health": {"get": {"summary": "Liveness and counters (exempt from the control token).",
                               "responses": {"200": _json({"type": "object"}, "Server status")}}},
    "/__mock/openapi.json": {"get": _op("This description.", _json({"type": "object"}, "OpenAPI 3.1 document"))},
    "/__mock/journal": {
        "get": _op("Journal entries, oldest first.", _json(_obj({"entries": {"type": "array",
                                                                              "items": _ref("JournalEntry")},
                                                                  "now": {"type": "number"}}), "Entries"),
                   params=(_query("taskUUID", {"type": "string"}, "entries naming this task (request or reply)"),
                           _query("since", {"type": "number"}, "server-clock time, inclusive"),
                           _query("until", {"type": "number"}, "server-clock time, inclusive"),
                           _query("transport", {"enum": ["rest", "ws"]}, "rest or ws"),
                           _query("valid", {"enum": ["true", "false"]}, "only valid / only invalid requests"),
                           _query("limit", {"type": "integer", "minimum": 1}, "keep the newest N")), errors=BAD),
        "delete": _op("Forget the namespace's entries (all without a key).",
                      _json(_obj({"deleted": {"type": "integer"}}), "How many were deleted")),
    },
    "/__mock/faults": {
        "post": _op("Install a fault.", _json(_ref("Fault"), "The fault, with its id"), body=_ref("FaultSpec"),
                    errors=BAD, ok_status="201"),
        "get": _op("The namespace's faults (all without a key).",
                   _json(_obj({"faults": {"type": "array", "items": _ref("Fault")}}), "Faults")),
        "delete": _op("Remove the namespace's faults (all without a key).",
                      _json(_obj({"deleted": {"type": "integer"}}), "How many were removed")),
    },
    "/__mock/faults/{faultId}": {
        "get": _op("One fault.", _json(_ref("Fault"), "The fault"), params=(_path("faultId", "fault id"),),
                   errors=MISSING),
        "delete": _op("Remove one fault.", _json(_obj({"deleted": {"type": "integer"}}), "Removed"),
                      params=(_path("faultId", "fault id"),), errors=MISSING),
    },
    "/__mock/scenarios": {"get": _op("The scenario catalogue (X-Vidmock-Scenario names).",
                                     _json(_obj({"header": {"type": "string"}, "scenarios": {"type": "array"}}),
                                           "Scenarios"))},
    "/__mock/progression": {"put": _op("The namespace's default progression policy and result release (server "
                                       "defaults without a key).",
                                       _json({"type": "object"}, "The settings changed"), body=POLICY_BODY,
                                       errors=BAD)},
    "/__mock/tasks": {"get": _op("Recent videoInference tasks, newest first.",
                                 _json(_obj({"tasks": {"type": "array", "items": _ref("Task")}}), "Tasks"),
                                 params=(_query("limit", {"type": "integer"}, "at most N"),))},
    "/__mock/tasks/{taskUUID}": {"get": _op("One task.", _json(_ref("Task"), "The task"), params=(TASK,),
                                            errors=MISSING)},
    "/__mock/tasks/{taskUUID}/progression": {"put": _op(
        "One task's progression policy and result release (may precede the task).",
        _json({"type": "object"}, "The settings changed"),
        body=POLICY_BODY, params=(TASK,), errors={**BAD, **MISSING})},
    "/__mock/tasks/{taskUUID}/complete": {"post": _op("Finish a task now, whatever its policy.",
                                                      _json(_ref("Task"), "The task"), params=(TASK,),
                                                      errors=MISSING)},
    "/__mock/tasks/{taskUUID}/fail": {"post": _op(
        "End a task in error now.", _json(_ref("Task"), "The task"), params=(TASK,), errors={**BAD, **MISSING},
        body=_obj({"code": {"type": "string", "default": "providerError"}, "message": {"type": "string"}}))},
    "/__mock/clock": {"get": _op("Server time.", _json(_ref("Clock"), "The clock"))},
    "/__mock/clock/advance": {"post": _op(
        "Move server time forward; time policies settle and media expire before the reply.",
        _json(_ref("Clock"), "The clock after the jump"), body=_obj({"seconds": {"type": "number", "minimum": 0}},
                                                                     ("seconds",)), errors=BAD)},
    "/__mock/reset": {"post": _op("Reset the namespace (everything without a key): jobs, policies, journal, "
                                  "faults, scenario budgets, deliveries.", _json({"type": "object"}, "What was reset"))},
    "/__mock/ws/drop": {"post": _op(
        "Drop a key's WebSocket connections now, or after its next request of a task type.",
        _json({"type": "object"}, "Dropped or armed"),
        body=_obj({"apiKey": {"type": "string"}, "how": {"enum": ["close1011", "abort"]}, "on": {"type": "string"}},
                  ("apiKey",)), errors={"400": {"description": "Bad drop request"}})},
    "/__mock/deliveries": {"get": _op(
        "The webhook and upload delivery log, oldest first.", _json(_ref("Deliveries"), "Delivery records"),
        params=(_query("taskUUID", {"type": "string"}, "one task"), _query("kind", {"enum": ["webhook", "upload"]}, ""),
                _query("state", {"type": "string"}, "pending | delivered | failed | refused")),
        errors={"400": {"description": "Bad filter"}})},
    "/__mock/deliveries/wait": {"get": _op(
        "Long-poll until a task's deliveries are final.", _json(_ref("Deliveries"), "Final records"),
        params=(_query("taskUUID", {"type": "string"}, "the task (required)"),
                _query("kind", {"enum": ["webhook", "upload"]}, ""), _query("count", {"type": "integer"}, ""),
                _query("timeout", {"type": "number"}, "seconds")),
        errors={"400": {"description": "Bad query"}, "408": _json(_ref("Deliveries"), "Timed out: records so far")})},
}


@cache
def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "vidmock control API", "version": "1",
                 "description": "Inspect and steer a running vidmock: journal, faults, scenarios, progression, "
                                "tasks, virtual clock, reset. See docs/control.md."},
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "parameters": {"ApiKey": _query("apiKey", {"type": "string"},
                                            "namespace (or Authorization: Bearer KEY); none: every namespace")},
            "securitySchemes": {"controlToken": {"type": "apiKey", "in": "header", "name": "X-Vidmock-Control-Token"}},
        },
        "security": [{"controlToken": []}, {}],
    }

"""What the peer mock servers are told about the API, generated at run time from ``schemas/``.

Both peers get the same request schema vidmock validates with: a task array (``envelope.json``)
whose items are any of ``schemas/tasks/*.json``, shared definitions inlined by
``mockserver.contract``; same fields, types, bounds, patterns and ``additionalProperties: false``.
What neither peer can be told is the model profile (``schemas/models/``): the allowed sizes and
the cross-field rules, which vidmock checks after the schema. Both answer every accepted request
with one fixed reply, the one vidmock gave for the workload's request.
"""

from __future__ import annotations

import json
from typing import Any

from mockserver import contract

DROPPED_KEYWORDS = ("$schema", "$id", "$comment")  # file-level keys; nested, they would start new schema resources


def task_array_schema() -> dict:
    """The body of ``POST /v1``: the envelope (an array of at least one task), each item any of the
    task schemas (each requires its own ``taskType``, so at most one can match)."""
    envelope = _without_file_keys(contract.schema("envelope.json"))
    tasks = [_without_file_keys(contract.task_schema(task_type)) for task_type in contract.task_types()]
    return {**envelope, "items": {"anyOf": tasks}}


def _without_file_keys(node: Any) -> Any:
    if isinstance(node, list):
        return [_without_file_keys(item) for item in node]
    if isinstance(node, dict):
        return {key: _without_file_keys(value) for key, value in node.items() if key not in DROPPED_KEYWORDS}
    return node


def prism_document(reply_status: int, reply: Any) -> dict:
    """OpenAPI 3.1 for Prism: ``POST /v1`` with the task-array body (validated: a violation is a
    422), a bearer key required (missing: 401), and ``reply`` as the one static example."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Runware videoInference (generated from vidmock's schemas/)", "version": "1"},
        "components": {"securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
        "security": [{"apiKey": []}],
        "paths": {"/v1": {"post": {
            "operationId": "runTasks",
            "requestBody": {"required": True, "content": {"application/json": {"schema": task_array_schema()}}},
            "responses": {str(reply_status): {"description": "the reply vidmock gave for this workload",
                                              "content": {"application/json": {"schema": {"type": "object"},
                                                                               "example": reply}}}},
        }}},
    }


def wiremock_mapping(reply_status: int, reply_text: str) -> dict:
    """A WireMock stub: ``POST /v1`` with a bearer key and a body matching the task-array schema
    (``matchesJsonSchema``, draft 7) answers ``reply_text``; anything else matches no stub (404)."""
    return {
        "request": {
            "method": "POST", "url": "/v1",
            "headers": {"Authorization": {"matches": "Bearer \\S+"}},
            "bodyPatterns": [{"matchesJsonSchema": json.dumps(task_array_schema()), "schemaVersion": "V7"}],
        },
        "response": {"status": reply_status, "headers": {"Content-Type": "application/json; charset=utf-8"},
                     "body": reply_text},
    }

"""The OpenAPI 3.1 description of the mocked API: ``vidmock openapi``, and ``GET /openapi.json``.

Built at run time from the contract under ``schemas/`` (read through ``mockserver.contract``):
every task schema (``tasks/``), every reply schema (``responses/``), the request envelope and the
shared definitions become ``components.schemas``, with the definitions' ``$ref``s pointed at
their component. Nothing here restates a field, a bound or a pattern. What the document adds is
the HTTP around them: which reply shape goes with which status (from the error catalogue), the
media files (``mockserver.media.store``), authentication, and the WebSocket endpoint, which OpenAPI
cannot model: it is described on ``GET /v1`` (the upgrade) and in the ``x-websocket`` extension.

The schemas are draft-07; once their ``$ref``s point inside the document they read the same
under OpenAPI 3.1's dialect (JSON Schema 2020-12): beside a ``$ref`` there are only annotations
(draft-07 ignores siblings, 2020-12 applies them), and patterns are ECMA-262 in both. The control plane describes itself
at ``/__mock/openapi.json`` (``mockserver/control/openapi.py``); this document leaves it out.
"""

from __future__ import annotations

import json
from collections import defaultdict
from functools import cache
from typing import Any

from aiohttp import web

from mockserver.contract import DEFINITIONS_REF, load_json, schemas_root, task_types
from mockserver.contract.errors import CATALOGUE
from mockserver.contract.protocol import AUTH
from mockserver.media.store import CONTENT_TYPES, MEDIA_NAME

DOCUMENT_PATH = "/openapi.json"  # at the root: /__mock/openapi.json is the control plane's
COMPONENTS = "#/components/schemas/"
DEFAULT_SERVER = {"url": "http://{host}:{port}", "description": "a running vidmock serve",
                  "variables": {"host": {"default": "127.0.0.1"}, "port": {"default": "8765"}}}
NOT_REPLY_ITEMS = ("envelope", "error", "webhook")  # responses/ files that are not an item of data[]
SERVED_ELSEWHERE = ("unknownEndpoint", "methodNotAllowed")  # codes of no route, or of GET /v1


def _ref(name: str) -> dict:
    return {"$ref": COMPONENTS + name}


def _as_component(node: Any) -> Any:
    """A schema file's content as a component: references to the shared definitions point at
    their components, and ``$schema``/``$id`` go (the document is one resource)."""
    if isinstance(node, list):
        return [_as_component(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("$schema", "$id"):
            continue
        if key == "$ref" and isinstance(value, str) and value.startswith(DEFINITIONS_REF):
            value = COMPONENTS + value[len(DEFINITIONS_REF):]
        out[key] = _as_component(value)
    return out


def _reply_files() -> list[str]:
    return sorted(path.stem for path in (schemas_root() / "responses").glob("*.json"))


def _components() -> dict[str, dict]:
    """Every schema of the contract, by component name: definitions under their own names,
    ``task.<taskType>``, ``reply.<file>``, and ``request.tasks`` (the body of POST /v1)."""
    schemas = {name: _as_component(schema) for name, schema in load_json("definitions.json")["definitions"].items()}
    schemas |= {f"task.{task_type}": _as_component(load_json(f"tasks/{task_type}.json")) for task_type in task_types()}
    schemas |= {f"reply.{name}": _as_component(load_json(f"responses/{name}.json")) for name in _reply_files()}
    envelope = _as_component(load_json("envelope.json"))
    envelope["items"] = {
        "oneOf": [_ref(f"task.{task_type}") for task_type in task_types()],
        "discriminator": {"propertyName": "taskType",
                          "mapping": {task_type: COMPONENTS + f"task.{task_type}" for task_type in task_types()}},
    }
    envelope["description"] = ("The tasks of one request, run one by one: each gets its own item in data[] "
                               "or its own error in errors[]. An authentication task, when present, comes first.")
    schemas["request.tasks"] = envelope
    schemas["reply.success-or-partial"] = {
        "description": "Any task produced data (errors[] then holds the tasks that failed), or getResponse "
                       "found a task that ended in error (data[] empty, errors[] each with status error).",
        "allOf": [_ref("reply.envelope")],
        "required": ["data"],
        "properties": {"data": {"items": {"oneOf": [_ref(f"reply.{name}") for name in _reply_files()
                                                    if name not in NOT_REPLY_ITEMS]}}},
    }
    schemas["reply.failure"] = {
        "description": "No task produced data: an empty data[] (as in every refusal captured from the live "
                       "service) and the errors, the first one's code deciding the HTTP status. Error items carry "
                       "no taskType over REST.",
        "allOf": [_ref("reply.envelope")],
        "required": ["data", "errors"],
        "properties": {"data": {"maxItems": 0}, "errors": {"minItems": 1, "items": {"not": {"required": ["taskType"]}}}},
    }
    return schemas


def _json(schema: dict, description: str, headers: dict | None = None) -> dict:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _kinds_by_status() -> dict[int, list]:
    """The catalogue's errors the mocked API can answer, by HTTP status."""
    by_status: dict[int, list] = defaultdict(list)
    for kind in CATALOGUE.values():
        if "ontrol" in kind.code or kind.code in SERVED_ELSEWHERE:  # the control plane's, or no route's
            continue
        by_status[kind.http_status].append(kind)
    return dict(sorted(by_status.items()))


def _post_responses() -> dict[str, dict]:
    responses = {}
    for status, kinds in _kinds_by_status().items():
        named = ", ".join(f"`{kind.code}`" for kind in kinds)
        if status == 200:
            responses["200"] = _json(_ref("reply.success-or-partial"), "At least one task produced an item "
                                     f"of data[]; the others failed in errors[]. Task outcomes in errors[]: {named}.")
            continue
        described = f"{named}: {kinds[0].rule}" if len(kinds) == 1 else f"one of {named}"
        headers = ({"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "string"}}}
                   if status == 429 else None)
        responses[str(status)] = _json(_ref("reply.failure"), f"No task produced data; the first error: {described}",
                                       headers)
    return responses


def _post_v1() -> dict:
    types = ", ".join(task_types())
    return {
        "operationId": "runTasks",
        "summary": "Run a JSON array of tasks",
        "description": (
            f"The body is a JSON array of tasks ({types}), each checked against its schema and the model profile "
            "(schemas/models/: the sizes, durations and cross-field rules JSON Schema does not hold), so a "
            "schema-valid task can still get a 400. Authentication: `Authorization: Bearer KEY`, or an "
            "authentication task first in the array (it wins over the header). videoInference is acknowledged "
            "at once (no status, no URL); poll it with getResponse until status success."),
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("request.tasks")}}},
        "responses": _post_responses(),
        "security": [{"bearerAuth": []}, {}],  # {}: an authentication task in the body instead
        "callbacks": {"webhook": {"{$request.body#/0/webhookURL}": {"post": {
            "summary": "One POST per result (or the task's error) to a task's webhookURL",
            "description": "Retried with back-off until the receiver answers 2xx (docs/delivery.md). The "
                           "expression names the first task's webhookURL; every task with one gets its own.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("reply.webhook")}}},
            "responses": {"200": {"description": "received"}}}}}},
    }


def _websocket() -> dict:
    frames_in, frames_out = _ref("request.tasks"), _ref("reply.envelope")
    return {
        "operationId": "openWebSocket",
        "summary": "Open the WebSocket (ws://HOST:PORT/v1): the same tasks and replies, as frames",
        "description": (
            "OpenAPI describes no WebSocket; this is the HTTP upgrade that opens one, and `x-websocket` holds "
            "its frames. Each text frame the client sends is a task array (request.tasks); each frame the "
            "server sends is a reply envelope (reply.envelope). The first task on a socket must be "
            f"`{AUTH}` (`apiKey`, optionally the `connectionSessionUUID` of a session to resume: replies that "
            "could not be delivered are sent then); `ping` is answered even before it. videoInference results "
            "arrive by polling getResponse on the socket. A malformed frame is answered with "
            "`invalidRequestBody` and the socket stays open; a reply over 1 MiB is split into several frames, "
            "a task's items never separated. A plain GET without the upgrade is 405 `methodNotAllowed`."),
        "parameters": [
            {"name": "Upgrade", "in": "header", "required": True, "schema": {"const": "websocket"}},
            {"name": "Connection", "in": "header", "required": True, "schema": {"const": "Upgrade"}},
            {"name": "Sec-WebSocket-Version", "in": "header", "required": True, "schema": {"const": "13"}},
            {"name": "Sec-WebSocket-Key", "in": "header", "required": True,
             "schema": {"type": "string", "pattern": "^[A-Za-z0-9+/]{22}==$"}},
        ],
        "responses": {
            "101": {"description": "Switching Protocols: the socket is open."},
            "405": _json(_ref("reply.failure"), "Not a WebSocket upgrade (`methodNotAllowed`).",
                         {"Allow": {"schema": {"type": "string"}}}),
        },
        "x-websocket": {
            "url": "ws://{host}:{port}/v1",
            "query": {"scenario": "vidmock's X-Vidmock-Scenario for the whole connection (docs/control.md)"},
            "clientFrames": frames_in,
            "serverFrames": frames_out,
            "authentication": _ref(f"task.{AUTH}"),
            "authenticated": _ref(f"reply.{AUTH}"),
        },
    }


def _media() -> dict:
    content = {content_type: {} for content_type in sorted(set(CONTENT_TYPES.values()))}
    kinds = ", ".join(f"`.{extension}` {content_type}" for extension, content_type in CONTENT_TYPES.items())
    file_headers = {
        "Content-Length": {"schema": {"type": "integer", "minimum": 0}},
        "Accept-Ranges": {"schema": {"const": "bytes"}},
        "ETag": {"schema": {"type": "string"}},
    }
    not_found = {"description": "No such file: an unknown name, a wrong extension, or an expired URL.",
                 "content": {"text/plain": {"schema": {"type": "string"}}}}

    def operation(method: str) -> dict:
        with_body = method == "get"
        return {
            "operationId": f"{method}Media",
            "summary": "A generated video or an uploaded image" + ("" if with_body else ": the headers only"),
            "description": f"Served while its URL lives (the task's ttl, else --ttl). Kinds: {kinds}.",
            "parameters": [
                {"name": "Range", "in": "header", "required": False,
                 "description": "One byte range, `bytes=a-b`, `bytes=a-` or `bytes=-n`: 206 with those bytes. "
                                "An empty value is ignored (200); any other value is a range the file cannot "
                                "satisfy: 416 (no value is refused as a bad request).",
                 "schema": {"type": "string"}},
                {"name": "If-None-Match", "in": "header", "required": False,
                 "description": "an ETag from an earlier reply: 304 when it still matches",
                 "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {"description": "The whole file.", "headers": file_headers,
                        **({"content": content} if with_body else {})},
                "206": {"description": "The requested range.",
                        "headers": {**file_headers, "Content-Range": {"schema": {"type": "string"}}},
                        **({"content": content} if with_body else {})},
                "304": {"description": "Not modified (If-None-Match matched the ETag)."},
                "404": not_found if with_body else {"description": not_found["description"]},
                "416": {"description": "The Range cannot be satisfied: outside the file, or not one byte range.",
                        "headers": {"Content-Range": {"schema": {"type": "string"}}}},
            },
        }

    return {
        "parameters": [{"name": "file", "in": "path", "required": True, "description": "`<uuid>.<ext>`, as in a "
                        "videoURL or imageURL", "schema": {"type": "string", "pattern": MEDIA_NAME.pattern}}],
        "get": operation("get"),
        "head": operation("head"),
    }


@cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "vidmock: Runware's videoInference API for alibaba:wan@2.7, mocked",
            "version": "1",
            "description": (
                "The API vidmock serves, built from its JSON Schemas (schemas/). REST: POST /v1 with a JSON "
                "array of tasks. WebSocket: ws://HOST:PORT/v1, the same tasks as frames (see GET /v1). Media: "
                "GET /media/{file}. vidmock's own control API is described at /__mock/openapi.json."),
        },
        "servers": [DEFAULT_SERVER],
        "paths": {
            "/v1": {"post": _post_v1(), "get": _websocket()},
            "/media/{file}": _media(),
            DOCUMENT_PATH: {"get": {"operationId": "getOpenApi", "summary": "This description",
                                    "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")}}},
        },
        "components": {
            "schemas": _components(),
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "The API key: any non-empty one unless vidmock serve was given --api-key. Each key "
                               "is its own namespace. Instead of the header, an authentication task may come first "
                               "in the body (on a WebSocket, it must)."}},
        },
    }


def openapi_document(base_url: str | None = None) -> dict[str, Any]:
    """The document (shared: do not modify it); with ``base_url`` (the origin a client used) its
    one server is that origin."""
    document = _document()
    return document if base_url is None else {**document, "servers": [{"url": base_url}]}


def openapi_json(base_url: str | None = None) -> str:
    return json.dumps(openapi_document(base_url), indent=2) + "\n"


async def _serve_document(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(f"{request.scheme}://{request.host}"))


def add_openapi_route(app: web.Application) -> None:
    """``GET /openapi.json``: the description, its server the origin the client used."""
    app.router.add_get(DOCUMENT_PATH, _serve_document)

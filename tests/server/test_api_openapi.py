"""The OpenAPI 3.1 description of the mocked API: built from schemas/ (no second copy), valid,
served at GET /openapi.json beside the control plane's, and true of real replies."""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from conftest import KEY, data_uri, new_uuid, png_bytes, video_task
from mockserver.commands.openapi import DOCUMENT_PATH, openapi_document
from mockserver.contract import load_json, schemas_root, task_types
from mockserver.contract.errors import CATALOGUE
from mockserver.control.openapi import openapi_document as control_document

DOCUMENT = openapi_document()
SCHEMAS = DOCUMENT["components"]["schemas"]


def reply_validator(status: int) -> Draft202012Validator:
    """The schema POST /v1 documents for ``status``, resolved inside the document."""
    reference = DOCUMENT["paths"]["/v1"]["post"]["responses"][str(status)]["content"]["application/json"]["schema"]
    return Draft202012Validator({**DOCUMENT, **reference})


def assert_documented(status: int, body: dict) -> None:
    errors = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
              for error in reply_validator(status).iter_errors(body)]
    assert not errors, (status, body, errors)


def test_the_document_is_valid_openapi_3_1():
    validate_openapi(DOCUMENT)
    assert DOCUMENT["openapi"] == "3.1.0"


def test_every_schema_file_is_a_component_as_it_is_written():
    """The files' content, with only their references to definitions.json pointed inside the
    document and $schema/$id dropped: comparing the serialised forms after that rewrite."""
    def component_of(content: dict) -> str:
        text = json.dumps({k: v for k, v in content.items() if k not in ("$schema", "$id")}, sort_keys=True)
        return text.replace('"definitions.json#/definitions/', '"#/components/schemas/')

    for name, definition in load_json("definitions.json")["definitions"].items():
        assert json.dumps(SCHEMAS[name], sort_keys=True) == component_of(definition), name
    for task_type in task_types():
        assert json.dumps(SCHEMAS[f"task.{task_type}"], sort_keys=True) == component_of(load_json(f"tasks/{task_type}.json"))
    replies = sorted(path.stem for path in (schemas_root() / "responses").glob("*.json"))
    assert len(replies) == 12
    for name in replies:
        assert json.dumps(SCHEMAS[f"reply.{name}"], sort_keys=True) == component_of(load_json(f"responses/{name}.json"))


def test_no_ref_has_a_sibling_the_two_drafts_would_read_differently():
    """Draft-07 ignores the keywords beside a ``$ref``, 2020-12 applies them: only annotations may
    stand there for the draft-07 schemas to mean the same inside the OpenAPI 3.1 document."""
    annotations = {"$ref", "title", "description", "$comment", "default", "examples"}

    def siblings(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield from set(node) - annotations
            for value in node.values():
                yield from siblings(value)
        elif isinstance(node, list):
            for value in node:
                yield from siblings(value)

    assert list(siblings(SCHEMAS)) == []


def test_post_v1_takes_every_task_and_answers_every_reply_item():
    body = DOCUMENT["paths"]["/v1"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    tasks = SCHEMAS[body["$ref"].rsplit("/", 1)[1]]
    assert tasks["type"] == "array" and tasks["minItems"] == load_json("envelope.json")["minItems"]
    assert {ref["$ref"] for ref in tasks["items"]["oneOf"]} == {f"#/components/schemas/task.{t}" for t in task_types()}
    assert set(tasks["items"]["discriminator"]["mapping"]) == set(task_types())
    items = SCHEMAS["reply.success-or-partial"]["properties"]["data"]["items"]["oneOf"]
    assert {ref["$ref"].rsplit(".", 1)[1] for ref in items} == {
        "ack", "authentication", "imageUpload", "pong", "processing", "success", "mediaStorage", "getTaskDetails",
        "dryRun"}


def test_post_v1_documents_the_status_of_every_api_error_code():
    documented = {int(status) for status in DOCUMENT["paths"]["/v1"]["post"]["responses"]}
    api_codes = [kind for kind in CATALOGUE.values()
                 if "ontrol" not in kind.code and kind.code not in ("unknownEndpoint", "methodNotAllowed")]
    assert documented == {kind.http_status for kind in api_codes} == {200, 400, 401, 404, 413, 429, 500, 502, 503, 504}  # 404: recordingNotFound (--replay-strict)
    assert "Retry-After" in DOCUMENT["paths"]["/v1"]["post"]["responses"]["429"]["headers"]


def test_the_websocket_and_the_media_are_described():
    socket = DOCUMENT["paths"]["/v1"]["get"]
    assert set(socket["responses"]) == {"101", "405"}
    assert socket["x-websocket"]["clientFrames"] == {"$ref": "#/components/schemas/request.tasks"}
    assert socket["x-websocket"]["serverFrames"] == {"$ref": "#/components/schemas/reply.envelope"}
    media = DOCUMENT["paths"]["/media/{file}"]
    assert set(media) == {"parameters", "get", "head"}
    assert set(media["get"]["responses"]["200"]["content"]) == {
        "video/mp4", "video/webm", "video/quicktime", "image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp",
        "audio/mpeg", "audio/wav", "audio/flac"}
    assert media["get"]["responses"]["404"]["content"] == {"text/plain": {"schema": {"type": "string"}}}


async def test_served_at_its_own_path_beside_the_control_planes(server, http):
    async with http.get(server.base_url + DOCUMENT_PATH) as response:
        assert response.status == 200 and response.content_type == "application/json"
        served = await response.json()
    assert served == {**DOCUMENT, "servers": [{"url": server.base_url}]}
    async with http.get(server.base_url + "/__mock/openapi.json") as response:
        assert await response.json() == control_document()
    assert not set(served["paths"]) & set(control_document()["paths"])


async def test_real_replies_are_as_documented(api, server):
    task = video_task(includeCost=True)
    statuses_and_bodies = [
        await api.post([task]),  # the ack
        await api.post([{"taskType": "ping"}, {"taskType": "authentication", "apiKey": KEY}]),  # an authentication item too
        await api.post([{"taskType": "authentication", "apiKey": KEY}, {"taskType": "ping", "taskUUID": new_uuid()}]),
        await api.post([{"taskType": "imageUpload", "taskUUID": new_uuid(), "image": data_uri(png_bytes(8, 8))}]),
        await api.post([task]),  # conflictTaskUUID
        await api.post([video_task(), video_task(width=1)]),  # partial success
        await api.post(raw=b"{"),
        await api.post([video_task()], headers={"Authorization": "Basic x"}),  # 401
    ]
    _, done = await api.wait_done(task["taskUUID"])
    statuses_and_bodies.append((200, done))
    statuses = [status for status, _ in statuses_and_bodies]
    assert statuses == [200, 200, 200, 200, 400, 200, 400, 401, 200]
    assert done["data"][0]["status"] == "success"
    assert [bool(body.get("errors")) for _, body in statuses_and_bodies] == [False, False, False, False, True, True,
                                                                             True, True, False]
    for status, body in statuses_and_bodies:
        assert_documented(status, body)


def test_a_reply_the_document_does_not_describe_is_caught():
    """The check above can fail: an ack with a status, an error reply carrying data items, or
    without the empty data[] the live service sends, or with an error item's taskType."""
    assert not reply_validator(200).is_valid({"data": [{"taskType": "videoInference", "taskUUID": new_uuid(),
                                                        "status": "queued"}]})
    assert reply_validator(400).is_valid({"data": [], "errors": [{"code": "x", "message": "y"}]})
    assert not reply_validator(400).is_valid({"data": [{"taskType": "ping", "pong": True}],
                                              "errors": [{"code": "x", "message": "y"}]})
    assert not reply_validator(400).is_valid({"errors": [{"code": "x", "message": "y"}]})
    assert not reply_validator(400).is_valid({"data": [], "errors": [{"code": "x", "message": "y", "taskType": "ping"}]})
    assert not reply_validator(400).is_valid({"data": [], "errors": []})

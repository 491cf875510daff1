"""POST /v1: envelopes, statuses, authentication, malformed bodies and every task type."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import struct

import pytest

from conformance.client import MockClient
from mockserver.exchange import HOOKS
from conftest import KEY, data_uri, new_uuid, png_bytes, video_task

INVALID_KEY = {"code": "invalidApiKey", "message": "Invalid API key. Get one at https://my.runware.ai/signup",
               "parameter": "apiKey", "type": "string"}  # as runware-cli's test data has it: no taskType


# -- malformed bodies --------------------------------------------------------------------------

@pytest.mark.parametrize("raw, detail", [
    (b'[{"taskType": "ping"', "not valid JSON"),
    (b'{"taskType": "ping"}', "must be a JSON array"),
    (b'"ping"', "must be a JSON array"),
    (b"[]", "at least one task"),
    (b'[{"taskType": "ping", "x": NaN}]', "not valid JSON"),
    (b'[{"taskType": "p\xffng"}]', "not valid UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    (b"", "not valid JSON"),
], ids=["truncated", "object", "string", "empty-array", "nan", "bad-utf8", "deep-nesting", "empty-body"])
async def test_malformed_body_is_invalid_request_body_400(api, raw, detail):
    status, body = await api.post(raw=raw)
    assert status == 400
    assert [error["code"] for error in body["errors"]] == ["invalidRequestBody"]
    assert detail in body["errors"][0]["message"] and body["data"] == []


async def test_oversized_body_is_request_too_large_413(make_server, http):
    server = await make_server(max_body_mb=0.01)
    payload = json.dumps([{"taskType": "imageUpload", "taskUUID": new_uuid(), "image": "A" * 20_000}]).encode()
    status, body = await MockClient(server.base_url, KEY, session=http).post(raw=payload)
    assert status == 413
    assert body["errors"][0]["code"] == "requestTooLarge" and body["errors"][0]["max"] == 10485


async def test_inline_image_under_the_limit_is_accepted(api):
    image = data_uri(png_bytes(1200, 900))
    status, body = await api.post([{"taskType": "imageUpload", "taskUUID": new_uuid(), "image": image}])
    assert status == 200 and body["data"][0]["imageUUID"]


async def test_query_string_is_ignored(api):
    async with api.session.post(f"{api.base_url}/v1?sdk=js&version=1", json=[{"taskType": "ping"}],
                                headers={"Authorization": "Bearer k"}) as response:
        assert response.status == 200 and await response.json() == {"data": [{"taskType": "ping", "pong": True}]}


@pytest.mark.parametrize("task, code", [
    (42, "invalidTask"),
    ([{"taskType": "ping"}], "invalidTask"),
    ({"taskUUID": "0d84f171-2e54-4c07-836e-05788795736d"}, "missingTaskType"),
    ({"taskType": "imageInference", "taskUUID": "0d84f171-2e54-4c07-836e-05788795736d"}, "unsupportedTaskType"),
])
async def test_bad_task_element_is_rejected_with_its_code(api, task, code):
    status, error = await api.one_error([task])
    assert status == 400 and error["code"] == code
    if isinstance(task, dict) and "taskUUID" in task:
        assert error["taskUUID"] == task["taskUUID"]


# -- authentication ----------------------------------------------------------------------------

@pytest.fixture
async def keyed(make_server, http) -> MockClient:
    server = await make_server(api_keys=("good-key", "other-key"))
    return MockClient(server.base_url, "good-key", session=http)


async def test_bearer_key_is_accepted(keyed):
    assert await keyed.post([{"taskType": "ping"}]) == (200, {"data": [{"taskType": "ping", "pong": True}]})


async def test_authentication_task_first_is_data_0_without_task_uuid(keyed):
    status, body = await keyed.as_key(None).post([
        {"taskType": "authentication", "apiKey": "good-key"}, {"taskType": "ping"}])
    assert status == 200
    auth, pong = body["data"]
    assert set(auth) == {"taskType", "connectionSessionUUID"} and auth["taskType"] == "authentication"
    assert pong == {"taskType": "ping", "pong": True}


async def test_authentication_resume_keeps_the_session_uuid(keyed):
    session = new_uuid()
    status, body = await keyed.as_key(None).post([
        {"taskType": "authentication", "apiKey": "good-key", "connectionSessionUUID": session}])
    assert status == 200 and body == {"data": [{"taskType": "authentication", "connectionSessionUUID": session}]}


async def test_missing_key_is_401_missing_api_key(keyed):
    status, error = await keyed.as_key(None).one_error([{"taskType": "ping"}])
    assert status == 401 and error["code"] == "missingApiKey"
    assert error["type"] == "string" and "taskType" not in error and "taskUUID" not in error


@pytest.mark.parametrize("how", ["bearer", "auth-task", "empty-bearer", "basic-scheme"])
async def test_wrong_key_is_401_invalid_api_key(keyed, how):
    if how == "auth-task":
        status, body = await keyed.as_key(None).post([{"taskType": "authentication", "apiKey": "nope"},
                                                     video_task()])
    else:
        headers = {"bearer": "Bearer nope", "empty-bearer": "Bearer ", "basic-scheme": "Basic Z29vZC1rZXk="}
        status, body = await keyed.as_key(None).post([video_task()], headers={"Authorization": headers[how]})
    assert status == 401 and list(body) == ["data", "errors"] and body["data"] == [] and len(body["errors"]) == 1
    assert {k: body["errors"][0][k] for k in INVALID_KEY} == INVALID_KEY
    assert "taskUUID" not in body["errors"][0] and "taskType" not in body["errors"][0]


async def test_without_configured_keys_any_non_empty_key_is_accepted(api):
    for key in ("anything", "x"):
        assert (await api.as_key(key).post([{"taskType": "ping"}]))[0] == 200
    status, error = await api.as_key(None).one_error([{"taskType": "ping"}])
    assert status == 401 and error["code"] == "missingApiKey"
    status, error = await api.as_key(None).one_error([{"taskType": "authentication", "apiKey": ""}])
    assert status == 401 and error["code"] == "invalidApiKey"


async def test_state_is_isolated_per_api_key(api):
    task = video_task()
    assert (await api.post([task]))[0] == 200
    status, error = await api.as_key("someone-else").one_error(
        [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
    assert status == 400 and error["code"] == "taskFailedOrNotFound"
    assert (await api.as_key("someone-else").post([task]))[0] == 200  # same taskUUID, other namespace


# -- ping, videoInference ack, getResponse -------------------------------------------------------

async def test_ping_echoes_task_uuid_only_when_sent(api):
    task_uuid = new_uuid()
    status, body = await api.post([{"taskType": "ping", "ping": True},
                                   {"taskType": "ping", "taskUUID": task_uuid}])
    assert status == 200
    assert body == {"data": [{"taskType": "ping", "pong": True},
                             {"taskType": "ping", "pong": True, "taskUUID": task_uuid}]}


async def test_video_ack_has_no_status_and_no_url(api):
    task = video_task(webhookURL="http://127.0.0.1:9/hook", uploadEndpoint="http://127.0.0.1:9/put")
    status, body = await api.post([task])
    assert status == 200 and body == {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]}


async def test_success_item_has_exact_fields(api):
    task = video_task(seed=77)
    await api.post([task])
    status, body = await api.wait_done(task["taskUUID"])
    item = body["data"][0]
    assert status == 200 and list(item) == ["taskType", "taskUUID", "status", "videoUUID", "videoURL", "seed",
                                            "NSFWContent"]
    assert item["seed"] == 77 and "cost" not in item


async def test_get_response_of_unknown_task_is_task_failed_or_not_found(api):
    """Scoped to the poll by its taskUUID; no taskType, as no captured error item has one."""
    task_uuid = new_uuid()
    status, error = await api.one_error([{"taskType": "getResponse", "taskUUID": task_uuid}])
    assert status == 400 and error["code"] == "taskFailedOrNotFound"
    assert error["taskUUID"] == task_uuid and "taskType" not in error


async def test_invalid_video_task_reports_only_the_first_violation(api):
    task = video_task(duration=99, width=1000, outputQuality=5)
    status, error = await api.one_error([task])
    assert status == 400 and error["taskUUID"] == task["taskUUID"] and "taskType" not in error
    assert error["code"] in {"unsupportedDuration", "invalidOutputQuality", "unsupportedModelResolution"}


async def test_a_uuid_v7_task_with_a_bad_width_is_refused_as_the_live_service_refused_one(api):
    """The deankerr-ig capture: the service echoed the UUIDv7 and reported the width, in
    ``{"data": [], "errors": [...]}`` with the live keys in their order (vidmock's bounds, its docs)."""
    task = video_task(taskUUID="019c42a0-c3ff-7138-be83-ee257abc5331", width=0)
    status, body = await api.post([task])
    assert (status, body) == (400, {"data": [], "errors": [{
        "code": "invalidWidth",
        "message": "Invalid value for 'width' parameter. Video width must be an integer value of at least 1, "
                   "in multiples of '1'.",
        "parameter": "width", "type": "integer", "min": 1, "multiplier": 1,
        "documentation": "https://runware.ai/docs/models/alibaba-wan2-7#request-width",
        "taskUUID": "019c42a0-c3ff-7138-be83-ee257abc5331"}]})
    assert list(body["errors"][0]) == ["code", "message", "parameter", "type", "min", "multiplier", "documentation",
                                       "taskUUID"]
    status, body = await api.post([{**task, "width": 1280}])
    assert (status, body) == (200, {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]})


async def test_reused_task_uuid_is_conflict(api):
    task = video_task()
    assert (await api.post([task]))[0] == 200
    status, error = await api.one_error([task])
    assert status == 400 and error["code"] == "conflictTaskUUID" and error["taskUUID"] == task["taskUUID"]


async def test_rejected_task_uuid_can_be_resent_once_fixed(api):
    task = video_task(duration=99)
    assert (await api.one_error([task]))[0] == 400
    assert (await api.post([{**task, "duration": 2}]))[0] == 200


async def test_duplicate_task_uuid_within_one_request(api):
    task = video_task()
    status, body = await api.post([task, task])
    assert status == 200
    assert body["data"] == [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]
    assert [e["code"] for e in body["errors"]] == ["conflictTaskUUID"]


async def test_mixed_array_is_partial_success(api):
    good, bad = video_task(), video_task(positivePrompt="")
    status, body = await api.post([{"taskType": "ping"}, good, bad, 7])
    assert status == 200
    assert body["data"] == [{"taskType": "ping", "pong": True},
                            {"taskType": "videoInference", "taskUUID": good["taskUUID"]}]
    assert [e["code"] for e in body["errors"]] == ["invalidPositivePromptLength", "invalidTask"]
    assert body["errors"][0]["taskUUID"] == bad["taskUUID"]


async def test_all_tasks_failing_take_the_first_error_status(api):
    status, body = await api.post([video_task(width=1000), {"taskType": "getResponse", "taskUUID": new_uuid()}])
    assert status == 400 and [e["code"] for e in body["errors"]] == ["unsupportedModelResolution",
                                                                     "taskFailedOrNotFound"]
    assert body["data"] == [] and not any("taskType" in error for error in body["errors"])


async def test_number_results_4_gives_4_videos_with_consecutive_seeds(api):
    task = video_task(numberResults=4, seed=500, includeCost=True)
    await api.post([task])
    status, body = await api.wait_done(task["taskUUID"])
    items = body["data"]
    assert status == 200 and len(items) == 4
    assert [item["seed"] for item in items] == [500, 501, 502, 503]
    assert len({item["videoUUID"] for item in items}) == 4
    assert {item["cost"] for item in items} == {0.20085}
    videos = [(await api.get(item["videoURL"]))[2] for item in items]
    assert len(set(videos)) == 4  # each seed is its own video


async def test_whole_numbers_written_as_floats_are_integers(api):
    """JSON Schema counts 2.0 as an integer, so the task is valid; schemathesis sent
    ``numberResults: 4.0`` and vidmock failed the task with internalServerError (range() of a float)."""
    raw = (b'[{"taskType": "videoInference", "taskUUID": "%s", "model": "alibaba:wan@2.7", "positivePrompt": "x",'
           b' "width": 1280.0, "height": 7.2e2, "duration": 2.0, "numberResults": 2.0, "seed": 500.0}]')
    task_uuid = new_uuid()
    status, body = await api.post(raw=raw % task_uuid.encode())
    assert (status, body) == (200, {"data": [{"taskType": "videoInference", "taskUUID": task_uuid}]})
    status, body = await api.wait_done(task_uuid)
    assert [item["seed"] for item in body["data"]] == [500, 501]
    assert all(type(item["seed"]) is int for item in body["data"])
    status, body = await api.post(raw=b'[{"taskType": "videoInference", "taskUUID": "%s", "model": "alibaba:wan@2.7",'
                                      b' "positivePrompt": "x", "width": 1280, "height": 720, "numberResults": 2.5}]'
                                      % new_uuid().encode())
    assert (status, body["errors"][0]["code"]) == (400, "invalidNumberResults")


async def test_drawn_seeds_are_unsigned_32_bit_and_reproducible(make_server, http):
    seeds = []
    for _ in range(2):
        server = await make_server(seed=99)
        api = MockClient(server.base_url, KEY, session=http)
        task = video_task(taskUUID="7d0bd235-600c-4d6b-92e9-4dad8671de30")
        await api.post([task])
        _, body = await api.wait_done(task["taskUUID"])
        seeds.append((body["data"][0]["seed"], body["data"][0]["videoUUID"]))
    assert seeds[0] == seeds[1]
    assert 0 <= seeds[0][0] <= 2**32 - 1


async def test_output_formats_have_their_extension_and_content_type(api):
    for fmt, ext, content_type in [("WEBM", "webm", "video/webm"), ("MOV", "mov", "video/quicktime")]:
        task = video_task(outputFormat=fmt)
        await api.post([task])
        _, body = await api.wait_done(task["taskUUID"])
        url = body["data"][0]["videoURL"]
        assert url.endswith(f".{ext}")
        status, headers, _ = await api.get(url)
        assert status == 200 and headers["Content-Type"] == content_type


# -- imageUpload and UUID inputs ----------------------------------------------------------------

async def upload(api: MockClient, image: str) -> dict:
    task_uuid = new_uuid()
    status, body = await api.post([{"taskType": "imageUpload", "taskUUID": task_uuid, "image": image}])
    assert status == 200, body
    item = body["data"][0]
    assert list(item) == ["taskType", "taskUUID", "imageUUID", "imageURL"] and item["taskUUID"] == task_uuid
    return item


@pytest.mark.parametrize("form", ["data-uri", "base64"])
async def test_image_upload_stores_and_serves_the_bytes(api, form):
    image = png_bytes(64, 48)
    item = await upload(api, data_uri(image) if form == "data-uri" else base64.b64encode(image).decode())
    assert item["imageURL"] == f"{api.base_url}/media/{item['imageUUID']}.png"
    status, headers, served = await api.get(item["imageURL"])
    assert status == 200 and headers["Content-Type"] == "image/png" and served == image


async def test_image_upload_of_a_url_is_kept_as_a_reference_not_fetched(api):
    url = "https://assets.example.invalid/inputs/first.jpg"
    item = await upload(api, url)
    assert item["imageURL"] == url


async def test_image_upload_of_garbage_is_invalid_image(api):
    task_uuid = new_uuid()
    status, error = await api.one_error([{"taskType": "imageUpload", "taskUUID": task_uuid,
                                          "image": base64.b64encode(b"not an image at all").decode()}])
    assert status == 400 and error["code"] == "invalidImage" and error["taskUUID"] == task_uuid


async def test_uploaded_image_uuid_resolves_and_sets_the_aspect(api):
    item = await upload(api, data_uri(png_bytes(360, 640)))
    task = video_task(resolution="720p", inputs={"frameImages": [item["imageUUID"]]})
    del task["width"], task["height"]
    assert (await api.post([task]))[0] == 200
    _, body = await api.wait_done(task["taskUUID"])
    from test_server_examples import probe
    _, _, video = await api.get(body["data"][0]["videoURL"])
    assert probe(video)[:2] == (720, 1280)


async def test_generated_video_uuid_resolves_as_reference_video(api):
    first = video_task()
    await api.post([first])
    _, body = await api.wait_done(first["taskUUID"])
    second = video_task(inputs={"referenceVideos": [body["data"][0]["videoUUID"]]})
    assert (await api.post([second]))[0] == 200


@pytest.mark.parametrize("inputs, parameter", [
    ({"referenceImages": ["3ad204c3-a9de-4963-8a1a-c3911e3afafe"]}, "inputs.referenceImages[0]"),
    ({"frameImages": [{"image": "3ad204c3-a9de-4963-8a1a-c3911e3afafe", "frame": "first"}]},
     "inputs.frameImages[0].image"),
    ({"referenceVideos": ["3ad204c3-a9de-4963-8a1a-c3911e3afafe"]}, "inputs.referenceVideos[0]"),
])
async def test_unknown_uuid_input_is_unknown_input_uuid(api, inputs, parameter):
    task = video_task(inputs=inputs)
    status, error = await api.one_error([task])
    assert status == 400 and error["code"] == "unknownInputUUID"
    assert error["parameter"] == parameter and error["taskUUID"] == task["taskUUID"]


async def test_image_uuid_of_another_key_does_not_resolve(api):
    item = await upload(api, data_uri(png_bytes(64, 64)))
    task = video_task(inputs={"referenceImages": [item["imageUUID"]]})
    status, error = await api.as_key("intruder").one_error([task])
    assert status == 400 and error["code"] == "unknownInputUUID"


async def test_responses_are_always_json(api):
    async with api.session.post(f"{api.base_url}/v1", data=b"\x00\x01") as response:
        assert response.status == 400 and response.content_type == "application/json"


async def test_get_v1_without_upgrade_is_a_runware_405(server, http):
    async with http.get(server.base_url + "/v1") as response:
        assert response.status == 405 and response.content_type == "application/json"
        body = await response.json()
    [error] = body["errors"]
    assert error["code"] == "methodNotAllowed" and "POST" in error["allowedValues"] and body["data"] == []
    assert response.headers["Allow"]


async def test_unknown_path_is_a_runware_404(server, http):
    async with http.post(server.base_url + "/v2", json=[]) as response:
        assert response.status == 404 and response.content_type == "application/json"
        body = await response.json()
    assert body["data"] == [] and [error["code"] for error in body["errors"]] == ["unknownEndpoint"]


async def test_an_unknown_control_path_keeps_the_control_planes_body(server, http):
    """/__mock/ is vidmock's API, not the mocked one: its bodies keep their shape, no data."""
    async with http.get(server.base_url + "/__mock/nothing-here") as response:
        assert response.status == 404
        body = await response.json()
    assert list(body) == ["errors"] and body["errors"][0]["code"] == "unknownEndpoint"


async def test_unknown_media_stays_a_plain_404(server, http):
    async with http.get(server.base_url + "/media/00000000-0000-4000-8000-000000000000.mp4") as response:
        assert response.status == 404 and response.content_type == "text/plain"


async def test_a_request_that_is_not_http_is_400_and_one_warning_without_traceback(server, caplog):
    """aiohttp answers a message it cannot parse itself (here a NUL in a header, which schemathesis
    sends to probe) and logs it as an ERROR with a traceback; vidmock makes that one WARNING line."""
    host, port = server.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"POST /v1 HTTP/1.1\r\nHost: x\r\nX-Probe: a\x00b\r\nContent-Length: 2\r\n\r\n[]")
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    assert status_line.split()[1] == b"400"
    await asyncio.sleep(0.05)
    logged = [record for record in caplog.records if record.name == "aiohttp.server"]
    assert [(record.levelname, record.exc_info) for record in logged] == [("WARNING", None)]
    assert "not valid HTTP (400, Invalid header value char" in logged[0].getMessage()


# -- the reply is written before the exchange's observers run ------------------------------------

async def _read_reply(reader: asyncio.StreamReader) -> tuple[int, dict, bytes]:
    status = int((await reader.readline()).split()[1])
    headers = {}
    while (line := await reader.readline()) != b"\r\n":
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, await reader.readexactly(int(headers["content-length"]))


def _post(body: bytes, key: str = KEY) -> bytes:
    return (f"POST /v1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def test_replies_written_by_the_handler_keep_one_connection_exact_and_journalled(server, api):
    """vidmock writes a reply itself, then journals it: aiohttp must not write it a second time,
    so three requests on one keep-alive connection get three exact replies and nothing more."""
    host, port = server.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    tasks = [video_task(), {"taskType": "getResponse", "taskUUID": new_uuid()}, {"taskType": "ping"}]
    replies = []
    for task in tasks:
        writer.write(_post(json.dumps([task]).encode()))
        replies.append(await asyncio.wait_for(_read_reply(reader), 10))
    writer.write_eof()
    assert await asyncio.wait_for(reader.read(), 10) == b""  # the server closes after the last: no stray bytes
    writer.close()
    assert [status for status, _, _ in replies] == [200, 400, 200]
    assert all(headers["content-type"] == "application/json; charset=utf-8" for _, headers, _ in replies)
    assert json.loads(replies[0][2]) == {"data": [{"taskType": "videoInference", "taskUUID": tasks[0]["taskUUID"]}]}
    assert json.loads(replies[2][2]) == {"data": [{"taskType": "ping", "pong": True}]}
    journal = await api.journal()
    assert [(entry["response"]["status"], entry["response"]["body"]) for entry in journal] == [
        (status, json.loads(body)) for status, _, body in replies]


async def test_a_client_gone_before_its_reply_is_journalled_and_nothing_is_logged_as_an_error(server, api, caplog):
    """The reply is written to a reset connection: the write fails, the exchange is still
    journalled with what was meant to go out, and no handler error reaches the log."""
    await api.fault("delay", ms=300, match={"taskType": "ping"})
    host, port = server.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(_post(b'[{"taskType": "ping"}]'))
    await writer.drain()
    await asyncio.sleep(0.1)  # the request is in: the handler waits out its delay
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()  # an RST, while the handler still waits
    for _ in range(100):
        pings = [entry for entry in await api.journal() if entry["tasks"] == [{"taskType": "ping"}]]
        if pings:
            break
        await asyncio.sleep(0.05)
    assert [(entry["response"]["status"], entry["response"]["body"]) for entry in pings] == [
        (200, {"data": [{"taskType": "ping", "pong": True}]})]
    assert [record.getMessage() for record in caplog.records if record.levelname in ("ERROR", "CRITICAL")] == []


async def test_an_observer_that_fails_after_the_reply_is_out_costs_no_second_response(server, caplog):
    """A bug in an exchange observer (the journal, the log) once the reply is written must not make
    aiohttp answer a 500 on the same connection: the next request would read it as its own reply."""
    def broken(ctx):
        raise RuntimeError("observer bug")

    server.app[HOOKS].exchange_done.insert(0, broken)
    host, port = server.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    replies = []
    for _ in range(2):
        writer.write(_post(b'[{"taskType": "ping"}]'))
        replies.append(await asyncio.wait_for(_read_reply(reader), 10))
    writer.close()
    assert [(status, json.loads(body)) for status, _, body in replies] == [
        (200, {"data": [{"taskType": "ping", "pong": True}]})] * 2
    failures = [record for record in caplog.records if record.levelname == "ERROR"]
    assert [record.name for record in failures] == ["mockserver.exchange"] * 2  # the one choke point
    assert all("observer bug" in str(record.exc_info[1]) for record in failures)

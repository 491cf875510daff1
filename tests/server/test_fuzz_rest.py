"""Bad input never crashes anything: hypothesis throws bytes and JSON at ``POST /v1``.

One ``vidmock serve`` process per module (a small body limit, so oversized bodies are cheap). For
every example: no 5xx, a JSON reply that is a Runware envelope (schemas/responses/envelope.json),
errors for every non-200, and the server still answers its health check. After each test its
stderr holds no traceback.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from benchmarks.serverproc import start_vidmock
from fuzz_server import ENVELOPE, ERROR, LIMIT, fuzz_settings, no_traceback_after_each_test, server  # noqa: F401

MODEL = "alibaba:wan@2.7"
TASK_UUID = "0d84f171-2e54-4c07-836e-05788795736d"
FUZZ = fuzz_settings(150)


def post(server, body, headers: dict | None = None, chunked: bool = False) -> tuple[int, dict]:
    """Send raw ``body`` to POST /v1 with a bearer key; (status, parsed JSON reply)."""
    address = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        all_headers = {"Authorization": "Bearer fuzz-key", "Content-Type": "application/json", **(headers or {})}
        if chunked:
            connection.request("POST", "/v1", body=iter([body]), headers=all_headers, encode_chunked=True)
        else:
            connection.request("POST", "/v1", body=body, headers=all_headers)
        response = connection.getresponse()
        status, content_type, raw = response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()
    assert status < 500, (status, raw[:500])
    assert content_type.startswith("application/json"), (status, content_type, raw[:200])
    return status, json.loads(raw, parse_constant=_reject)


def _reject(name):
    raise AssertionError(f"the reply contains {name}")


def assert_runware_reply(status: int, reply: dict) -> None:
    ENVELOPE.validate(reply)
    assert isinstance(reply.get("data"), list), reply  # the live envelope: data always, [] on a refusal
    for error in reply.get("errors", []):
        ERROR.validate(error)
        assert "taskType" not in error, error
    if status != 200:
        assert reply.get("errors"), reply
        assert reply["data"] == [], reply


def assert_healthy(server) -> None:
    address = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request("GET", "/__mock/health")
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["status"] == "ok"
    finally:
        connection.close()


def check(server, body: bytes, **options) -> tuple[int, dict]:
    status, reply = post(server, body, **options)
    assert_runware_reply(status, reply)
    assert_healthy(server)
    return status, reply


# -- strategies --------------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=40)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=5), max_leaves=30)
TASK_TYPES = ["videoInference", "getResponse", "imageUpload", "authentication", "ping", "imageInference", "", 7]


def valid_video_task() -> dict:
    return {"taskType": "videoInference", "taskUUID": TASK_UUID, "model": MODEL, "positivePrompt": "a fox",
            "width": 1280, "height": 720, "duration": 5, "seed": 1}


@st.composite
def mutated_tasks(draw) -> list:
    """A valid task with fields replaced, removed or added: reaches validation, not just the parser."""
    task = valid_video_task()
    task["taskType"] = draw(st.sampled_from(TASK_TYPES))
    for _ in range(draw(st.integers(1, 4))):
        field = draw(st.sampled_from(sorted(task) + ["inputs", "settings", "providerSettings", "frameImages",
                                                     "webhookURL", "numberResults", "outputFormat", "apiKey"]))
        if draw(st.booleans()):
            task[field] = draw(json_values)
        else:
            task.pop(field, None)
    return draw(st.lists(st.just(task) | json_values, min_size=1, max_size=3))


def nested(depth: int, opener: str, closed: bool) -> bytes:
    closer = {"[": "]", '{"a":': "}"}[opener]
    return (opener * depth + "0" + (closer * depth if closed else "")).encode()


# -- the fuzz tests ------------------------------------------------------------------------------

@FUZZ
@given(body=st.binary(max_size=3000))
def test_random_bytes_get_an_error_envelope(server, body):
    check(server, body)


@FUZZ
@given(value=json_values)
def test_any_json_value_gets_a_runware_reply(server, value):
    check(server, json.dumps(value).encode())  # NaN and Infinity come out as bare tokens


@FUZZ
@given(tasks=mutated_tasks())
def test_mutated_tasks_get_a_runware_reply(server, tasks):
    check(server, json.dumps(tasks).encode())


@settings(FUZZ, max_examples=40)
@given(depth=st.integers(1, 120_000), opener=st.sampled_from(["[", '{"a":']), closed=st.booleans())
@example(depth=100_000, opener="[", closed=True)
@example(depth=100_000, opener='{"a":', closed=True)
@example(depth=120_000, opener="[", closed=False)
def test_deep_nesting_is_refused_cleanly(server, depth, opener, closed):
    check(server, nested(depth, opener, closed))


@settings(FUZZ, max_examples=40)
@given(depth=st.integers(1, 5000), field=st.sampled_from(["inputs", "settings", "positivePrompt", "seed", "extra"]))
@example(depth=990, field="inputs")
@example(depth=990, field="settings")
@example(depth=5000, field="inputs")
def test_deep_nesting_inside_a_task_reaches_validation_safely(server, depth, field):
    task = valid_video_task()
    body = json.dumps(task)[:-1] + f', "{field}": ' + "[" * depth + "]" * depth + "}"
    check(server, f"[{body}]".encode())


@FUZZ
@given(tasks=mutated_tasks(), junk=st.binary(min_size=1, max_size=4).filter(lambda b: not _utf8(b)),
       where=st.floats(0, 1))
def test_invalid_utf8_anywhere_is_invalid_request_body(server, tasks, junk, where):
    text = json.dumps(tasks).encode()
    cut = int(len(text) * where)
    status, reply = check(server, text[:cut] + junk + text[cut:])
    assert status == 400 and reply["errors"][0]["code"] == "invalidRequestBody"


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_invalid_request_body(server, token):
    task = json.dumps(valid_video_task())[:-1] + f', "seed": {token}}}'
    status, reply = check(server, f"[{task}]".encode())
    assert status == 400 and reply["errors"][0]["code"] == "invalidRequestBody"


@settings(FUZZ, max_examples=25)
@given(size=st.integers(LIMIT + 1, LIMIT * 8), chunked=st.booleans())
@example(size=LIMIT + 1, chunked=False)
@example(size=LIMIT * 8 - 100, chunked=True)
@example(size=LIMIT * 8 - 100, chunked=False)
def test_bodies_over_the_limit_are_request_too_large_413(server, size, chunked):
    body = b'[{"taskType": "ping", "pad": "' + b"x" * size + b'"}]'
    status, reply = check(server, body, chunked=chunked)
    assert status == 413
    assert [(e["code"], e["max"]) for e in reply["errors"]] == [("requestTooLarge", LIMIT)]


def test_body_of_exactly_the_limit_is_accepted(server):
    prefix, suffix = b'[{"taskType": "ping", "taskUUID": "' + TASK_UUID.encode() + b'", "pad": "', b'"}]'
    body = prefix + b"x" * (LIMIT - len(prefix) - len(suffix)) + suffix
    assert len(body) == LIMIT
    status, reply = check(server, body)
    assert status == 400 and reply["errors"][0]["code"] == "unsupportedParameter"  # read, parsed, validated


def test_a_flood_of_requests_on_one_connection_is_answered_in_order(server):
    """500 pipelined-free keep-alive requests, alternating good and bad: every one answered."""
    address = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        for index in range(500):
            body = b'[{"taskType": "ping"}]' if index % 2 else b"[" * 5000
            connection.request("POST", "/v1", body=body, headers={"Authorization": "Bearer fuzz-key"})
            response = connection.getresponse()
            reply = json.loads(response.read())
            assert_runware_reply(response.status, reply)
            assert response.status == (200 if index % 2 else 400)
    finally:
        connection.close()
    assert_healthy(server)


def oversized_header_exchange(header_length: int) -> tuple[int, str, bytes, str]:
    """(status, content type, body, server stderr) of a ping whose Authorization header is that long."""
    server = start_vidmock()  # its own server: a traceback must not fail the module's other tests
    try:
        address = urlsplit(server.base_url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        connection.request("POST", "/v1", body=b'[{"taskType": "ping"}]',
                           headers={"Authorization": "Bearer " + "k" * header_length})
        response = connection.getresponse()
        status, content_type, raw = response.status, response.getheader("Content-Type", ""), response.read()
        connection.close()
    finally:
        server.stop()
    return status, content_type, raw, server.stderr_text()


def test_a_long_header_within_64_kib_is_served():
    status, content_type, raw, stderr = oversized_header_exchange(40_000)
    assert status == 200 and content_type.startswith("application/json")
    assert json.loads(raw) == {"data": [{"taskType": "ping", "pong": True}]}
    assert "Traceback" not in stderr


@pytest.mark.xfail(strict=True, reason="known: beyond 64 KiB aiohttp's parser answers with a text/plain 400 that "
                   "echoes the header (an API key, for Authorization) and logs a traceback; see docs/reliability.md")
def test_oversized_headers_get_a_runware_error_without_a_traceback():
    status, content_type, raw, stderr = oversized_header_exchange(70_000)
    assert b"k" * 100 not in raw  # the key is not echoed back
    assert "Traceback" not in stderr
    assert status == 431 or status == 400 and content_type.startswith("application/json")

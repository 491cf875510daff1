"""Bad input never crashes anything, over the WebSocket: hypothesis sends frames to ``ws://.../v1``.

One ``vidmock serve`` process per module. For every example the reply frames are Runware
envelopes (schemas/responses/envelope.json), garbage gets ``errors[]``, the socket keeps serving
(a ping after the garbage is answered) and the server answers its health check. Frames over the
body limit get a ``requestTooLarge`` error frame; beyond 8x the limit the socket closes with 1009.
After each test the server's stderr holds no traceback.
"""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp import WSMsgType
from hypothesis import example, given, settings
from hypothesis import strategies as st


from fuzz_server import ENVELOPE, ERROR, LIMIT, fuzz_settings, no_traceback_after_each_test, server  # noqa: F401

MODEL = "alibaba:wan@2.7"
FUZZ = fuzz_settings(100)
REPLY_TIMEOUT = 20
AUTH = json.dumps([{"taskType": "authentication", "apiKey": "fuzz-key"}])
PING = json.dumps([{"taskType": "ping", "ping": True}])


async def reply(ws) -> dict:
    """The next frame, which must be a Runware envelope."""
    message = await ws.receive(timeout=REPLY_TIMEOUT)
    assert message.type is WSMsgType.TEXT, (message.type, message.data, message.extra)
    body = json.loads(message.data, parse_constant=_reject)
    ENVELOPE.validate(body)
    assert body.get("data") != [] or "errors" not in body, body  # a refusal is errors[] alone, as captured
    for error in body.get("errors", []):
        ERROR.validate(error)
        assert error.get("taskType", "authentication") == "authentication", error
    return body


def _reject(name):
    raise AssertionError(f"the reply contains {name}")


async def still_serving(server, ws) -> None:
    """The socket answers a ping, and the server its health check."""
    await ws.send_str(PING)
    assert (await reply(ws))["data"][0]["taskType"] == "ping"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{server.base_url}/__mock/health") as response:
            assert response.status == 200


async def session_socket(server, session: aiohttp.ClientSession, authenticate: bool = True):
    ws = await session.ws_connect(server.ws_url, max_msg_size=0)
    if authenticate:
        await ws.send_str(AUTH)
        assert (await reply(ws))["data"][0]["taskType"] == "authentication"
    return ws


async def exchange(server, frame: str | bytes, *, binary: bool = False, authenticate: bool = True) -> dict:
    """Send one frame on a fresh socket; its reply, after checking the socket still serves."""
    async with aiohttp.ClientSession() as session:
        ws = await session_socket(server, session, authenticate)
        if binary:
            await ws.send_bytes(frame)
        elif isinstance(frame, bytes):  # a text frame whose bytes need not be UTF-8
            await ws.send_frame(frame, WSMsgType.TEXT)
        else:
            await ws.send_str(frame)
        body = await reply(ws)
        await still_serving(server, ws)
        await ws.close()
    return body


def error_codes(body: dict) -> list[str]:
    return [error["code"] for error in body.get("errors", [])]


# -- strategies --------------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=40)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=5), max_leaves=30)


@st.composite
def mutated_tasks(draw) -> list:
    task = {"taskType": draw(st.sampled_from(["videoInference", "getResponse", "imageUpload", "ping",
                                              "authentication", "nonsense"])),
            "taskUUID": "0d84f171-2e54-4c07-836e-05788795736d", "model": MODEL, "positivePrompt": "a fox",
            "width": 1280, "height": 720, "duration": 5}
    for _ in range(draw(st.integers(1, 4))):
        field = draw(st.sampled_from(sorted(task) + ["inputs", "settings", "apiKey", "connectionSessionUUID"]))
        if draw(st.booleans()):
            task[field] = draw(json_values)
        else:
            task.pop(field, None)
    return draw(st.lists(st.just(task) | json_values, min_size=1, max_size=3))


# -- the fuzz tests ------------------------------------------------------------------------------

@FUZZ
@given(text=st.text(max_size=2000))
async def test_any_text_frame_gets_a_runware_reply(server, text):
    await exchange(server, text)


@FUZZ
@given(data=st.binary(max_size=2000))
async def test_any_bytes_as_a_text_frame_get_a_runware_reply(server, data):
    await exchange(server, data)


@FUZZ
@given(data=st.binary(max_size=500))
async def test_binary_frames_are_invalid_request_body(server, data):
    assert error_codes(await exchange(server, data, binary=True)) == ["invalidRequestBody"]


@FUZZ
@given(tasks=mutated_tasks(), authenticate=st.booleans())
async def test_mutated_tasks_get_a_runware_reply(server, tasks, authenticate):
    await exchange(server, json.dumps(tasks), authenticate=authenticate)


@settings(FUZZ, max_examples=30)
@given(depth=st.integers(1, 120_000), opener=st.sampled_from(["[", '{"a":']))
@example(depth=100_000, opener="[")
async def test_deep_nesting_is_invalid_request_body(server, depth, opener):
    closer = "]" if opener == "[" else "}"
    body = await exchange(server, opener * depth + "0" + closer * depth)
    if depth > 1 or opener != "[":  # [0] is a (bad) task array, not a parse error
        too_large = len(opener) * depth > LIMIT
        assert error_codes(body) in ([["requestTooLarge"]] if too_large else [["invalidRequestBody"], ["invalidTask"]])


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
async def test_non_finite_numbers_are_invalid_request_body(server, token):
    body = await exchange(server, f'[{{"taskType": "ping", "x": {token}}}]')
    assert error_codes(body) == ["invalidRequestBody"]


@settings(FUZZ, max_examples=15)
@given(size=st.integers(LIMIT + 1, LIMIT * 8 - 100))
@example(size=LIMIT + 1)
async def test_frames_over_the_limit_get_a_request_too_large_frame(server, size):
    body = await exchange(server, '[{"taskType": "ping", "pad": "' + "x" * size + '"}]')
    assert [(e["code"], e["max"]) for e in body["errors"]] == [("requestTooLarge", LIMIT)]


async def test_a_frame_beyond_eight_times_the_limit_closes_the_socket_with_1009(server):
    async with aiohttp.ClientSession() as session:
        ws = await session_socket(server, session)
        await ws.send_str("[" + " " * (LIMIT * 8 + 10) + "]")
        message = await ws.receive(timeout=REPLY_TIMEOUT)
        assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
        # The server sends close 1009 and drops the connection while the client may still be
        # writing the rest of the frame; TCP then resets the socket and the client never reads
        # the close frame (1006). Both are the server refusing the frame; no third outcome is.
        assert ws.close_code in (1009, 1006)
    async with aiohttp.ClientSession() as session:  # and the server serves the next socket
        ws = await session_socket(server, session)
        await still_serving(server, ws)


async def test_a_flood_of_frames_is_answered_frame_for_frame(server):
    """2,000 frames sent without reading, good and bad interleaved: 2,000 envelopes come back."""
    frames = [PING, "[" * 3000, "\ud7ff not json", '[{"taskType": "nope"}]'] * 500
    async with aiohttp.ClientSession() as session:
        ws = await session_socket(server, session)
        for frame in frames:
            await ws.send_str(frame)
        replies = [await reply(ws) for _ in frames]
        await still_serving(server, ws)
    assert sum("data" in body for body in replies) == 500
    assert sum(bool(body.get("errors")) for body in replies) == 1500


async def test_unauthenticated_garbage_never_opens_the_socket_to_tasks(server):
    async with aiohttp.ClientSession() as session:
        ws = await session_socket(server, session, authenticate=False)
        await ws.send_str(json.dumps([{"taskType": "getResponse", "taskUUID": "0d84f171-2e54-4c07-836e-05788795736d"}]))
        assert error_codes(await reply(ws)) == ["missingApiKey"]
        await ws.send_str(json.dumps([{"taskType": "authentication", "apiKey": ["not", "a", "string"]}]))
        assert error_codes(await reply(ws)) == ["invalidApiKey"]
        await ws.send_str(json.dumps([{"taskType": "getResponse", "taskUUID": "0d84f171-2e54-4c07-836e-05788795736d"}]))
        assert error_codes(await reply(ws)) == ["missingApiKey"]

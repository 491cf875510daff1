"""The WebSocket transport, frame by frame, against a real server on 127.0.0.1.

Each test is one behaviour the official SDKs rely on (see docs/clients.md): the auth reply shape,
pings before auth, errors routed by taskUUID, sessions that survive a dropped socket.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from conformance.client import MockClient
from mockserver.transports.keys import WS_HUB
from mockserver.transports.ws_frames import MAX_REPLY_FRAME_BYTES, reply_frames
from conftest import data_uri, png_bytes, video_task

KEY = "ws-key"
INVALID_KEY_ERROR = {"code": "invalidApiKey", "message": "Invalid API key. Get one at https://my.runware.ai/signup",
                     "parameter": "apiKey", "type": "string", "taskType": "authentication"}


class Socket:
    """A raw client socket: send a task array, read one envelope."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse):
        self.ws = ws

    async def send(self, tasks) -> None:
        await self.ws.send_str(json.dumps(tasks))

    async def receive(self, timeout: float = 10) -> dict:
        message = await self.ws.receive(timeout=timeout)
        assert message.type is aiohttp.WSMsgType.TEXT, message
        return json.loads(message.data)

    async def request(self, tasks) -> dict:
        await self.send(tasks)
        return await self.receive()

    async def authenticate(self, key: str = KEY, session_uuid: str | None = None) -> str:
        task = {"taskType": "authentication", "apiKey": key}
        if session_uuid:
            task["connectionSessionUUID"] = session_uuid
        reply = await self.request([task])
        return reply["data"][0]["connectionSessionUUID"]

    async def poll_until_done(self, task_uuid: str) -> dict:
        async with asyncio.timeout(30):
            while True:
                reply = await self.request([{"taskType": "getResponse", "taskUUID": task_uuid}])
                if reply.get("data", [{}])[0].get("status") != "processing":
                    return reply
                await asyncio.sleep(0.05)


@pytest.fixture
async def ws_server(make_server):
    return await make_server(api_keys=(KEY, "other-key"))


@pytest.fixture
async def connect(ws_server, http):
    """``await connect()`` opens a socket on /v1 (with the query string sdk-js adds)."""
    sockets = []

    async def open_socket(query: str = "?sdk=js&version=1.3.2") -> Socket:
        ws = await http.ws_connect(ws_server.base_url.replace("http", "ws", 1) + "/v1" + query, max_msg_size=0)
        sockets.append(ws)
        return Socket(ws)

    yield open_socket
    for ws in sockets:
        await ws.close()


@pytest.fixture
async def socket(connect) -> Socket:
    return await connect()


async def test_auth_reply_is_data0_with_a_session_uuid_and_no_task_uuid(socket):
    reply = await socket.request([{"taskType": "authentication", "apiKey": KEY}])
    assert list(reply) == ["data"] and len(reply["data"]) == 1
    item = reply["data"][0]
    assert set(item) == {"taskType", "connectionSessionUUID"}
    assert item["taskType"] == "authentication" and isinstance(item["connectionSessionUUID"], str)


async def test_invalid_key_gets_the_authentication_error_and_the_socket_stays_open(socket):
    reply = await socket.request([{"taskType": "authentication", "apiKey": "wrong"}])
    assert list(reply) == ["errors"] and len(reply["errors"]) == 1
    error = reply["errors"][0]
    assert {k: error[k] for k in INVALID_KEY_ERROR} == INVALID_KEY_ERROR and "taskUUID" not in error
    assert await socket.authenticate()  # same socket, right key


async def test_a_socket_refusal_keeps_the_frame_shape_the_capture_shows_and_no_task_type(socket):
    """The one captured WebSocket error frame (sdk-python issue 26) is ``{"errors": [...]}`` with
    no data and an item without taskType; only an authentication refusal keeps its taskType."""
    await socket.authenticate()
    task = video_task(width=1000, height=1000)
    reply = await socket.request([task])
    assert list(reply) == ["errors"] and len(reply["errors"]) == 1
    assert reply["errors"][0]["taskUUID"] == task["taskUUID"] and "taskType" not in reply["errors"][0]
    good = video_task()
    reply = await socket.request([good, task | {"taskUUID": video_task()["taskUUID"]}])
    assert reply["data"] == [{"taskType": "videoInference", "taskUUID": good["taskUUID"]}]
    assert [error["code"] for error in reply["errors"]] == ["unsupportedModelResolution"]
    assert "taskType" not in reply["errors"][0]


async def test_ping_before_auth_gets_a_pong(socket):
    assert await socket.request([{"taskType": "ping", "ping": True}]) == {"data": [{"taskType": "ping", "pong": True}]}


async def test_ping_sent_right_behind_the_auth_frame_is_answered_after_the_auth_reply(socket):
    await socket.send([{"taskType": "authentication", "apiKey": KEY}])
    await socket.send([{"taskType": "ping", "ping": True}])
    assert "connectionSessionUUID" in (await socket.receive())["data"][0]
    assert await socket.receive() == {"data": [{"taskType": "ping", "pong": True}]}


async def test_pong_after_auth_has_the_sdk_shape(socket):
    await socket.authenticate()
    reply = await socket.request([{"taskType": "ping", "ping": True}])
    assert reply == {"data": [{"taskType": "ping", "pong": True}]}


async def test_tasks_before_auth_get_missing_api_key_scoped_to_their_task(socket):
    task = video_task()
    reply = await socket.request([task])
    error = reply["errors"][0]
    assert (error["code"], error["taskUUID"]) == ("missingApiKey", task["taskUUID"]) and "taskType" not in error


async def test_video_inference_ack_then_get_response_over_the_socket(socket):
    await socket.authenticate()
    task = video_task(includeCost=True)
    assert await socket.request([task]) == {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]}
    reply = await socket.poll_until_done(task["taskUUID"])
    item = reply["data"][0]
    assert item["status"] == "success" and item["taskType"] == "videoInference" and item["taskUUID"] == task["taskUUID"]
    assert item["videoUUID"] and item["videoURL"].endswith(".mp4") and item["cost"] > 0


async def test_the_query_string_is_ignored(connect):
    socket = await connect("?anything=1&dryRun=1")
    assert await socket.authenticate()


@pytest.mark.parametrize("frame, fragment", [
    ("[{", "not valid JSON"),
    ('{"taskType": "ping"}', "JSON array"),
    (b"\xff\xfe[]", "not valid UTF-8"),
    ("[]", "at least one task"),
])
async def test_malformed_text_frames_get_invalid_request_body_and_the_socket_stays_open(socket, frame, fragment):
    await socket.authenticate()
    if isinstance(frame, bytes):  # bad UTF-8 in a *text* frame: sent raw, bypassing the client's encoder
        await socket.ws._writer.send_frame(frame, aiohttp.WSMsgType.TEXT)
    else:
        await socket.ws.send_str(frame)
    error = (await socket.receive())["errors"][0]
    assert error["code"] == "invalidRequestBody" and fragment in error["message"]
    assert (await socket.request([{"taskType": "ping", "ping": True}]))["data"][0]["pong"] is True


async def test_binary_frames_get_invalid_request_body(socket):
    await socket.authenticate()
    await socket.ws.send_bytes(json.dumps([{"taskType": "ping", "ping": True}]).encode())
    error = (await socket.receive())["errors"][0]
    assert error["code"] == "invalidRequestBody" and "text frame" in error["message"]


async def test_a_big_inline_image_frame_is_accepted(socket):
    """Far above aiohttp's 4 MiB default: sdk-python sends local images inline as data URIs."""
    await socket.authenticate()
    image = data_uri(png_bytes(1280, 720) + b"\0" * (6 * 1024 * 1024))  # trailing bytes: a 6 MiB PNG
    task = video_task(inputs={"frameImages": [{"image": image, "frame": "first"}]})
    assert len(json.dumps(task)) > 8 * 1024 * 1024
    assert await socket.request([task]) == {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]}


async def test_a_frame_over_the_limit_gets_request_too_large_and_the_socket_stays_open(make_server, http):
    server = await make_server(api_keys=(KEY,), max_body_mb=1)
    async with http.ws_connect(server.base_url.replace("http", "ws", 1) + "/v1") as ws:
        socket = Socket(ws)
        await socket.authenticate()
        task = video_task(inputs={"frameImages": [{"image": data_uri(b"\0" * 2 * 1024 * 1024), "frame": "first"}]})
        error = (await socket.request([task]))["errors"][0]
        assert error["code"] == "requestTooLarge"
        assert await socket.authenticate()


async def test_reply_frames_stay_under_1_mib_and_keep_each_tasks_items_together(socket):
    """A real reply over 1 MiB: many tasks, one error each (with its allowedValues list)."""
    await socket.authenticate()
    tasks = [video_task(width=1000, height=1000) for _ in range(2500)]
    await socket.send(tasks)
    seen, frames = [], 0
    while len(seen) < len(tasks):
        message = await socket.ws.receive(timeout=30)
        assert len(message.data.encode()) < 1024 * 1024
        seen += [error["taskUUID"] for error in json.loads(message.data)["errors"]]
        frames += 1
    assert frames > 1 and seen == [task["taskUUID"] for task in tasks]


def test_reply_frames_never_split_one_tasks_items():
    items = [{"taskUUID": f"t{i // 3}", "payload": "y" * 100_000} for i in range(60)]  # 20 tasks, 3 items each
    frames = [json.loads(text) for text in reply_frames({"data": items})]
    assert len(frames) > 1 and all(len(json.dumps(frame)) <= MAX_REPLY_FRAME_BYTES for frame in frames)
    owners = {}
    for index, frame in enumerate(frames):
        for item in frame["data"]:
            assert owners.setdefault(item["taskUUID"], index) == index
    assert [item for frame in frames for item in frame["data"]] == items


async def test_resume_within_the_window_delivers_replies_buffered_while_away(ws_server, connect, http):
    socket = await connect()
    session = await socket.authenticate()
    task = video_task()
    await socket.request([task])
    await arm_drop(http, ws_server, "abort", on="getResponse")
    await socket.send([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
    assert (await socket.ws.receive(timeout=10)).type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)

    resumed = await connect()
    assert await resumed.authenticate(session_uuid=session) == session
    buffered = await resumed.receive()
    assert buffered["data"][0]["taskUUID"] == task["taskUUID"]
    assert buffered["data"][0]["status"] in ("processing", "success")


async def test_resume_after_the_window_or_with_another_key_gets_a_new_session(ws_server, connect):
    first = await connect()
    session = await first.authenticate()
    await first.ws.close()
    other_key = await connect()
    assert await other_key.authenticate("other-key", session_uuid=session) != session
    ws_server.app[WS_HUB].resume_window = 0
    late = await connect()
    assert await late.authenticate(session_uuid=session) != session


async def test_drop_close1011_closes_every_socket_of_the_key_only(ws_server, connect, http):
    mine, also_mine, theirs = await connect(), await connect(), await connect()
    await mine.authenticate()
    await also_mine.authenticate()
    await theirs.authenticate("other-key")
    async with http.post(ws_server.base_url + "/__mock/ws/drop", json={"apiKey": KEY, "how": "close1011"}) as response:
        assert await response.json() == {"dropped": 2}
    for socket in (mine, also_mine):
        message = await socket.ws.receive(timeout=10)
        assert message.type is aiohttp.WSMsgType.CLOSE and message.data == 1011
    assert (await theirs.request([{"taskType": "ping", "ping": True}]))["data"][0]["pong"] is True


async def test_drop_hook_rejects_a_bad_body(ws_server, http):
    async with http.post(ws_server.base_url + "/__mock/ws/drop", json={"apiKey": KEY, "how": "close1000"}) as response:
        assert response.status == 400


async def test_idle_socket_is_closed_cleanly_after_the_idle_timeout(ws_server, socket):
    ws_server.app[WS_HUB].idle_timeout = 0.3
    await socket.authenticate()
    message = await socket.ws.receive(timeout=10)
    assert message.type is aiohttp.WSMsgType.CLOSE and message.data == 1000


async def test_the_idle_timer_counts_the_servers_frames_too(ws_server, connect):
    """Runware closes a socket "120 seconds from the last message exchanged": a client waiting on a
    slow reply is not idle. Socket A sends a ping whose reply is held back 1.5 s; socket B
    authenticates after that ping went out (0.5 s later) and before its reply came. Counting the
    reply, B's last frame is older than A's and B is closed first; counting only the clients'
    frames, A's ping is older than B's authentication and A would be closed first. The order of the
    two closes is the evidence, with 0.5 s or more between them either way; no duration is asserted."""
    ws_server.app[WS_HUB].idle_timeout = 2.0
    waiting, other = await connect(), await connect()
    await waiting.authenticate()
    await MockClient(ws_server.base_url, KEY).fault("delay", ms=1500, match={"taskType": "ping"})
    ping = asyncio.ensure_future(waiting.request([{"taskType": "ping", "ping": True}]))
    await asyncio.sleep(0.5)  # a gap between the two sockets' frames, not a bound asserted
    await other.authenticate()
    assert not ping.done(), "the held reply came before the other socket authenticated"
    assert (await ping)["data"][0]["pong"] is True
    closes = {asyncio.ensure_future(waiting.ws.receive(timeout=10)): "waiting",
              asyncio.ensure_future(other.ws.receive(timeout=10)): "other"}
    done, _ = await asyncio.wait(closes, return_when=asyncio.FIRST_COMPLETED)
    assert [closes[first] for first in done] == ["other"]
    for message in await asyncio.gather(*closes):
        assert message.type is aiohttp.WSMsgType.CLOSE and message.data == 1000


async def test_idle_timeout_and_resume_window_come_from_the_config(make_server):
    hub = (await make_server(ws_idle_timeout=7.5, ws_resume_window=3)).app[WS_HUB]
    assert (hub.idle_timeout, hub.resume_window) == (7.5, 3)


async def test_several_sockets_per_key_work_at_once(connect):
    sockets = [await connect() for _ in range(3)]
    sessions = await asyncio.gather(*(socket.authenticate() for socket in sockets))
    assert len(set(sessions)) == 3
    tasks = [video_task() for _ in sockets]
    acks = await asyncio.gather(*(socket.request([task]) for socket, task in zip(sockets, tasks)))
    assert [ack["data"][0]["taskUUID"] for ack in acks] == [task["taskUUID"] for task in tasks]


async def test_a_task_uuid_resent_after_a_reconnect_gets_conflict_task_uuid(connect):
    first = await connect()
    await first.authenticate()
    task = video_task()
    await first.request([task])
    await first.ws.close()
    second = await connect()
    await second.authenticate()
    error = (await second.request([task]))["errors"][0]
    assert (error["code"], error["taskUUID"]) == ("conflictTaskUUID", task["taskUUID"])


async def test_an_invalid_task_gets_its_error_with_its_task_uuid(socket):
    await socket.authenticate()
    task = video_task(width=1000, height=1000)
    error = (await socket.request([task]))["errors"][0]
    assert (error["code"], error["taskUUID"]) == ("unsupportedModelResolution", task["taskUUID"])


async def arm_drop(http, server, how: str, on: str) -> None:
    async with http.post(server.base_url + "/__mock/ws/drop", json={"apiKey": KEY, "how": how, "on": on}) as response:
        assert response.status == 200, await response.text()

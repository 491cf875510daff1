"""``vidmock proxy`` in front of a faithful upstream (a second vidmock): the client gets the
upstream's replies unchanged, nothing is reported as drift, and the recording replays to the same
videoUUIDs, costs and seeds over REST and WebSocket."""

from __future__ import annotations

import json

import aiohttp
import av
import pytest

from conftest import MODEL, new_uuid, png_bytes, data_uri, video_task
from conformance.client import MockClient
from proxy_support import PROXY_KEY, Socket, rest_run, start_proxy, start_replay, ws_url

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def upstream(make_server):
    """The faithful upstream: a vidmock that knows only the proxy's key, finishing on the 2nd poll."""
    return await make_server(api_keys=(PROXY_KEY,), progression="polls:1")


@pytest.fixture
async def proxy(upstream, tmp_path):
    server = await start_proxy(upstream.base_url, tmp_path / "proxy-data", record=tmp_path / "recording.jsonl",
                               record_media=tmp_path / "media")
    yield server
    await server.stop()


def the_tasks() -> list[dict]:
    """What a client asks for in these tests: text-to-video with a fixed seed and two results, an
    image-to-video whose size comes from its frame, and a request vidmock and the upstream refuse."""
    return [video_task(seed=42, numberResults=2, includeCost=True),
            {"taskType": "videoInference", "taskUUID": new_uuid(), "model": MODEL, "duration": 3,
             "includeCost": True, "resolution": "720p",
             "inputs": {"frameImages": [{"image": data_uri(png_bytes(72, 128)), "frame": "first"}]}}]


def results(body: dict) -> list[tuple]:
    return [(item["videoUUID"], item["seed"], item["cost"]) for item in body["data"]]


async def test_rest_through_a_faithful_proxy_is_unchanged_and_finds_no_drift(proxy, upstream, http):
    client = MockClient(proxy.base_url, PROXY_KEY, session=http)
    upstream_view = MockClient(upstream.base_url, PROXY_KEY, session=http)
    for task in the_tasks():
        ack, done = await rest_run(client, task)
        assert ack == {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]}
        [entry] = [e for e in await upstream_view.journal(taskUUID=task["taskUUID"])
                   if e["response"]["body"].get("data", [{}])[0].get("status") == "success"][-1:]
        assert done == entry["response"]["body"]  # byte for byte what the upstream answered
        assert all(item["videoURL"].startswith(upstream.base_url) for item in done["data"])
    status, refused = await client.post([video_task(width=1000, height=1000)])
    assert status == 400 and refused["errors"][0]["code"] == "unsupportedModelResolution"

    drift = await MockClient(proxy.base_url, None, session=http).call("GET", "drift")
    assert drift == {"findings": [], "total": 0}


async def test_websocket_through_a_faithful_proxy_keeps_the_upstream_session_and_finds_no_drift(proxy, upstream, http):
    async with http.ws_connect(ws_url(proxy.base_url)) as ws:
        socket = Socket(ws)
        auth = await socket.authenticate()
        session = auth["data"][0]["connectionSessionUUID"]
        upstream_sessions = (await MockClient(upstream.base_url, None, session=http).call("GET", "health"))["websocket"]
        assert upstream_sessions["sessions"] == 1
        assert await socket.ask([{"taskType": "ping", "ping": True}]) == {"data": [{"taskType": "ping", "pong": True}]}
        task = the_tasks()[0]
        assert await socket.ask([task]) == {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]}
        done = await socket.wait_done(task["taskUUID"])
        assert [item["seed"] for item in done["data"]] == [42, 43]
    upstream_journal = await MockClient(upstream.base_url, None, session=http).journal(transport="ws")
    assert upstream_journal[0]["response"]["body"]["data"][0]["connectionSessionUUID"] == session
    drift = await MockClient(proxy.base_url, None, session=http).call("GET", "drift")
    assert drift == {"findings": [], "total": 0}


@pytest.mark.parametrize("recorded_over, replayed_over", [("rest", "ws"), ("ws", "rest")])
async def test_a_recording_replays_to_the_same_videos_costs_and_seeds(proxy, tmp_path, http, recorded_over,
                                                                      replayed_over):
    client = MockClient(proxy.base_url, PROXY_KEY, session=http)
    recorded = []
    tasks = the_tasks()
    if recorded_over == "rest":
        recorded = [(await rest_run(client, task))[1] for task in tasks]
    else:
        async with http.ws_connect(ws_url(proxy.base_url)) as ws:
            socket = Socket(ws)
            await socket.authenticate()
            for task in tasks:
                await socket.ask([task])
                recorded.append(await socket.wait_done(task["taskUUID"]))
    await proxy.stop()

    replay = await start_replay(tmp_path / "recording.jsonl", tmp_path / "replay-data", api_keys=("ci-key",))
    try:
        replayed = []
        for task in tasks:
            again = {**task, "taskUUID": new_uuid()}
            if replayed_over == "rest":
                _, done = await rest_run(MockClient(replay.base_url, "ci-key", session=http), again)
            else:
                async with http.ws_connect(ws_url(replay.base_url)) as ws:
                    socket = Socket(ws)
                    await socket.authenticate("ci-key")
                    assert await socket.ask([again]) == {"data": [{"taskType": "videoInference",
                                                                   "taskUUID": again["taskUUID"]}]}
                    done = await socket.wait_done(again["taskUUID"])
            assert {item["taskUUID"] for item in done["data"]} == {again["taskUUID"]}
            assert all(item["videoURL"].startswith(replay.base_url) for item in done["data"])
            replayed.append(done)
        assert [results(body) for body in replayed] == [results(body) for body in recorded]
        assert [item["seed"] for item in replayed[0]["data"]] == [42, 43]
        assert replayed[0]["data"][0]["cost"] == 0.20085  # 720p, 2 s at the profile's 0.100425 per second
        for body, size in ((replayed[0], (1280, 720)), (replayed[1], (720, 1280))):
            status, _, data = await MockClient(replay.base_url, "ci-key", session=http).get(body["data"][0]["videoURL"])
            assert status == 200
            recorded_file = tmp_path / "media" / f"{body['data'][0]['videoUUID']}.mp4"
            assert data == recorded_file.read_bytes()  # --record-media's file, served as recorded
            path = tmp_path / "got.mp4"
            path.write_bytes(data)
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                assert (stream.codec_context.width, stream.codec_context.height) == size
    finally:
        await replay.stop()


async def test_without_recorded_media_a_replay_serves_placeholders_of_the_recorded_size(upstream, tmp_path, http):
    proxy = await start_proxy(upstream.base_url, tmp_path / "proxy-data", record=tmp_path / "recording.jsonl")
    task = the_tasks()[1]  # 720x1280: the size came from the frame image
    try:
        _, recorded = await rest_run(MockClient(proxy.base_url, PROXY_KEY, session=http), task)
    finally:
        await proxy.stop()
    replay = await start_replay(tmp_path / "recording.jsonl", tmp_path / "replay-data")
    try:
        _, done = await rest_run(MockClient(replay.base_url, "any-key", session=http), {**task, "taskUUID": new_uuid()})
        assert results(done) == results(recorded)
        status, headers, data = await MockClient(replay.base_url, "any-key", session=http).get(done["data"][0]["videoURL"])
        assert status == 200 and headers["Content-Type"] == "video/mp4"
        path = tmp_path / "placeholder.mp4"
        path.write_bytes(data)
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            frames = sum(1 for _ in container.decode(stream))
            assert (stream.codec_context.width, stream.codec_context.height, frames) == (720, 1280, 90)
    finally:
        await replay.stop()


async def test_the_recording_has_a_versioned_header_and_one_exchange_per_line(proxy, tmp_path, http):
    client = MockClient(proxy.base_url, PROXY_KEY, session=http)
    task = video_task()
    await rest_run(client, task)
    lines = [json.loads(line) for line in (tmp_path / "recording.jsonl").read_text().splitlines()]
    assert lines[0]["format"] == "vidmock-recording" and lines[0]["version"] == 1
    first = lines[1]
    assert (first["transport"], first["request"]["method"], first["request"]["tasks"], first["reply"]["status"]) == (
        "rest", "POST", [task], 200)
    assert first["reply"]["body"] == {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]}
    assert first["request"]["headers"]["Authorization"] == "<redacted>"
    assert set(first["times"]) == {"sent", "received", "ms"} and first["times"]["ms"] >= 0
    assert [line["seq"] for line in lines[1:]] == list(range(1, len(lines)))


async def test_platform_tasks_through_a_faithful_proxy_find_no_drift(proxy, http):
    """mediaStorage and getTaskDetails replies are judged by their own schemas/responses/ shapes."""
    client = MockClient(proxy.base_url, PROXY_KEY, session=http)
    store = {"taskType": "mediaStorage", "taskUUID": new_uuid(), "operation": "upload",
             "media": data_uri(png_bytes(64, 64))}
    status, stored = await client.post([store])
    assert status == 200 and stored["data"][0]["operation"] == "upload"
    status, details = await client.post([{"taskType": "getTaskDetails", "taskUUID": store["taskUUID"]}])
    assert status == 200 and details["data"][0]["taskType"] == "getTaskDetails"
    drift = await MockClient(proxy.base_url, None, session=http).call("GET", "drift")
    assert drift == {"findings": [], "total": 0}

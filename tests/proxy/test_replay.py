"""``vidmock serve --replay``: recorded replies in their recorded order for recorded tasks, the mock
(or, strict, a refusal) for the rest."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from conftest import REPO, video_task
from conformance.client import MockClient
from mockserver.traffic.recording import RecordingError, read_recording
from proxy_support import PROXY_KEY, start_proxy, start_replay

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def recording(make_server, tmp_path, http):
    """A recording of: the same task submitted twice (no seed: two different stories), polled
    until done under polls:2 (ack, processing, processing, success)."""
    upstream = await make_server(api_keys=(PROXY_KEY,), progression="polls:2")
    path = tmp_path / "recording.jsonl"
    proxy = await start_proxy(upstream.base_url, tmp_path / "proxy-data", record=path)
    client = MockClient(proxy.base_url, PROXY_KEY, session=http)
    template = video_task(includeCost=True)
    stories = []
    try:
        for _ in range(2):
            task = {**template, "taskUUID": video_task()["taskUUID"]}
            replies = [(await client.post([task]))[1]]
            while not replies[-1]["data"] or replies[-1]["data"][0].get("status") != "success":
                replies.append((await client.poll(task["taskUUID"]))[1])
            stories.append(replies)
    finally:
        await proxy.stop()
    return path, template, stories


def without_uuids(body: dict) -> dict:
    """A reply with its taskUUIDs and URLs out of the way: what a replay must reproduce."""
    return {key: [{k: v for k, v in item.items() if k not in ("taskUUID", "videoURL")} for item in items]
            for key, items in body.items()}


async def test_recorded_replies_come_back_in_recorded_order_with_the_clients_task_uuid(recording, tmp_path, http):
    path, template, stories = recording
    statuses = [[item.get("status") for item in reply["data"]] for reply in stories[0]]
    assert statuses[:3] == [[None], ["processing"], ["processing"]] and statuses[-1] == ["success"]
    replay = await start_replay(path, tmp_path / "replay-data")
    try:
        client = MockClient(replay.base_url, "ci-key", session=http)
        for story in stories + stories[:1]:  # a third identical task is told the first story again
            task = {**template, "taskUUID": video_task()["taskUUID"]}
            replies = [(await client.post([task]))[1]] + [(await client.poll(task["taskUUID"]))[1] for _ in story]
            assert [without_uuids(reply) for reply in replies] == [without_uuids(reply) for reply in story + story[-1:]]
            assert all(item["taskUUID"] == task["taskUUID"] for reply in replies for item in reply["data"])
        status, conflict = await client.one_error([{**template, "taskUUID": task["taskUUID"]}])
        assert (status, conflict["code"]) == (400, "conflictTaskUUID")
        other = MockClient(replay.base_url, "another-key", session=http)  # each key hears the stories from the start
        task = {**template, "taskUUID": video_task()["taskUUID"]}
        await other.post([task])
        _, done = await other.wait_done(task["taskUUID"])
        assert done["data"][0]["videoUUID"] == stories[0][-1]["data"][0]["videoUUID"]
        health = await MockClient(replay.base_url, None, session=http).call("GET", "health")
        assert health["replay"]["stories"] == 2 and health["replay"]["replayed"] == 4
    finally:
        await replay.stop()


async def test_unrecorded_tasks_fall_back_to_the_mock_or_are_refused_when_strict(recording, tmp_path, http):
    path, template, stories = recording
    recorded_videos = {story[-1]["data"][0]["videoUUID"] for story in stories}
    replay = await start_replay(path, tmp_path / "replay-data")
    try:
        client = MockClient(replay.base_url, "ci-key", session=http)
        task = video_task(duration=3)
        await client.post([task])
        _, done = await client.wait_done(task["taskUUID"])
        assert done["data"][0]["status"] == "success" and done["data"][0]["videoUUID"] not in recorded_videos
    finally:
        await replay.stop()

    strict = await start_replay(path, tmp_path / "strict-data", replay_strict=True)
    try:
        client = MockClient(strict.base_url, "ci-key", session=http)
        task = video_task(duration=3)
        status, error = await client.one_error([task])
        assert (status, error["code"], error["taskUUID"]) == (404, "recordingNotFound", task["taskUUID"])
        recorded = {**template, "taskUUID": video_task()["taskUUID"]}
        unrecorded = video_task(duration=4)
        status, body = await client.post([{"taskType": "authentication", "apiKey": "ci-key"}, recorded, unrecorded,
                                          {"taskType": "ping", "ping": True}])
        assert status == 200
        assert [item["taskType"] for item in body["data"]] == ["authentication", "videoInference", "ping"]
        assert [(e["code"], e["taskUUID"]) for e in body["errors"]] == [("recordingNotFound", unrecorded["taskUUID"])]
    finally:
        await strict.stop()


async def test_a_recording_vidmock_cannot_read_stops_serve_with_the_line_named(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"format": "vidmock-recording", "version": 1}) + "\n{not json\n")
    with pytest.raises(RecordingError, match="line 2: not JSON"):
        read_recording(bad)
    newer = tmp_path / "newer.jsonl"
    newer.write_text(json.dumps({"format": "vidmock-recording", "version": 2}) + "\n")
    with pytest.raises(RecordingError, match="format version 2; this vidmock reads version 1"):
        read_recording(newer)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mockserver", "serve", "--port", "0", "--replay", str(bad), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=REPO)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert (process.returncode, out) == (2, b"")
    assert f"vidmock: recording {bad}, line 2: not JSON".encode() in err

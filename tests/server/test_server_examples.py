"""The spec's five examples, end to end over REST: ack, poll, a real video at a real URL.

URL inputs are accepted without being fetched; cost, seed and size match the spec exactly.
"""

from __future__ import annotations

import io
import json

import av
import pytest

from conftest import REPO

EXAMPLES = sorted((REPO / "fixtures" / "requests").glob("example-*.json"))
EXPECTED_COST = {1: 0.8034, 2: 0.808, 3: 1.2051, 4: 1.2051, 5: 0.8034}


def probe(video: bytes) -> tuple[int, int, float, int]:
    """(width, height, fps, decoded frame count)."""
    with av.open(io.BytesIO(video)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return stream.codec_context.width, stream.codec_context.height, float(stream.average_rate), frames


def test_all_five_examples_are_present():
    assert [int(path.name.split("-")[1]) for path in EXAMPLES] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
async def test_spec_example_runs_end_to_end(api, path):
    number = int(path.name.split("-")[1])
    task = {**json.loads(path.read_text()), "includeCost": True}
    expected = json.loads((REPO / "fixtures" / "responses" / path.name).read_text())

    status, ack = await api.post([task])
    assert status == 200
    assert ack == {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]}

    status, body = await api.wait_done(task["taskUUID"])
    assert status == 200 and list(body) == ["data"] and len(body["data"]) == 1
    item = body["data"][0]
    assert item["taskType"] == "videoInference" and item["taskUUID"] == expected["taskUUID"]
    assert item["status"] == "success" and item["NSFWContent"] is False
    assert item["seed"] == expected["seed"] == task["seed"]
    assert item["cost"] == expected["cost"] == EXPECTED_COST[number]
    assert item["videoUUID"] != task["taskUUID"]
    assert item["videoURL"] == f"{api.base_url}/media/{item['videoUUID']}.mp4"

    status, headers, video = await api.get(item["videoURL"])
    assert status == 200 and headers["Content-Type"] == "video/mp4"
    assert int(headers["Content-Length"]) == len(video)
    assert probe(video) == (task["width"], task["height"], 30.0, task["duration"] * 30)

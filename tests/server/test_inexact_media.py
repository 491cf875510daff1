"""Media as inexact as the live service's: the served file itself, decoded with PyAV, is the
size and frame count the inexactMedia fault (or scenario) decides; the default stays exact."""

from __future__ import annotations

import io

import av
import pytest

from conformance.client import MockClient
from conftest import video_task


def probe(video: bytes) -> tuple[int, int, float, int, float]:
    """(width, height, fps, decoded frame count, container duration in seconds)."""
    with av.open(io.BytesIO(video)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return (stream.codec_context.width, stream.codec_context.height, float(stream.average_rate), frames,
                container.duration / av.time_base)


async def served_video(api: MockClient, task: dict, headers: dict | None = None) -> tuple[dict, bytes]:
    """(the success item, the bytes of its video) of a task run to the end."""
    assert (await api.post([task], headers=headers))[0] == 200
    status, body = await api.wait_done(task["taskUUID"])
    [item] = body["data"]
    status, _, video = await api.get(item["videoURL"])
    assert status == 200
    return item, video


async def test_the_inexact_media_scenario_gives_the_live_deviation_for_seed_0(api: MockClient):
    """Seed 0 draws the very deviation a live result had: 1284x716 for 1280x720, and 4 frames
    (0.133 s) past 5 s."""
    task = video_task(duration=5, seed=0)
    item, video = await served_video(api, task, {"X-Vidmock-Scenario": "inexact-media"})
    width, height, fps, frames, seconds = probe(video)
    assert (width, height, fps, frames) == (1284, 716, 30.0, 5 * 30 + 4)
    assert 5.1 < seconds < 5.2  # the container lasts as long as its frames
    assert not {"width", "height", "duration"} & set(item)  # the reply says nothing of it, as live
    listed = await api.call("GET", f"tasks/{task['taskUUID']}")
    assert (listed["width"], listed["height"], listed["duration"]) == (1280, 720, 5)  # what was asked
    assert listed["generations"][0]["video"] == {"width": 1284, "height": 716, "frames": 154}  # what was made


async def test_a_fault_fixes_each_offset_and_shortens_with_negative_frames(api: MockClient):
    await api.fault(action="inexactMedia", widthOffset=-2, heightOffset=8, extraFrames=-3)
    task = video_task(seed=7, settings={"audio": True})
    _, video = await served_video(api, task)
    assert probe(video)[:4] == (1278, 728, 30.0, 2 * 30 - 3)


async def test_the_deviation_is_drawn_per_seed_and_repeats_for_the_same_seed(api: MockClient):
    await api.fault(action="inexactMedia", times="unlimited")
    shapes = [probe((await served_video(api, video_task(seed=seed)))[1])[:4] for seed in (2, 4, 2)]
    assert shapes == [(1282, 722, 30.0, 63), (1276, 718, 30.0, 64), (1282, 722, 30.0, 63)]


@pytest.mark.parametrize("output_format", ["WEBM", "MOV"])
async def test_other_containers_are_inexact_too(api: MockClient, output_format):
    await api.fault(action="inexactMedia", widthOffset=4, heightOffset=-4, extraFrames=2)
    _, video = await served_video(api, video_task(seed=3, outputFormat=output_format))
    assert probe(video)[:4] == (1284, 716, 30.0, 62)


async def test_by_default_and_after_the_fault_is_used_media_are_exact(api: MockClient):
    await api.fault(action="inexactMedia", extraFrames=4)  # once: the first task only
    assert probe((await served_video(api, video_task(seed=0)))[1])[:4] == (1284, 716, 30.0, 64)
    exact = video_task(seed=0)
    assert probe((await served_video(api, exact))[1])[:4] == (1280, 720, 30.0, 60)
    listed = await api.call("GET", f"tasks/{exact['taskUUID']}")
    assert listed["generations"][0]["video"] == {"width": 1280, "height": 720, "frames": 60}

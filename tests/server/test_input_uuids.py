"""UUID inputs resolve wherever the spec takes one, by kind, over REST and WebSocket alike: images
(imageUpload, mediaStorage) in frameImages and referenceImages, videos (mediaStorage, generated) in
referenceVideos, audio (mediaStorage) in inputs.audio. Every UUID that does not resolve is refused
naming the parameter and saying why; the size of a stored image still sets the output size."""

from __future__ import annotations

import asyncio

import pytest
from api_channels import TRANSPORTS, media_task, only_error, only_item, open_channel, store
from media_samples import sample

from conftest import data_uri, new_uuid, png_bytes, video_task
from conformance.client import MockClient
from test_server_examples import probe

DAY = 24 * 3600


@pytest.fixture
async def clocked(make_server, http) -> MockClient:
    """A server whose time moves only when told (uploads live 30 days, videos their ttl)."""
    server = await make_server(virtual_clock=True)
    return MockClient(server.base_url, "clock-key", session=http)


async def uploaded(channel, kind: str) -> str:
    media = {"image": data_uri(png_bytes(360, 640)), "video": data_uri(sample("mp4")), "audio": data_uri(sample("wav"))}
    return (await store(channel, media[kind]))["mediaUUID"]


def sized_by_frame(uuid: str) -> dict:
    task = video_task(resolution="720p", inputs={"frameImages": [uuid]})
    del task["width"], task["height"]
    return task


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_each_kind_resolves_where_the_spec_takes_it(api, transport):
    async with open_channel(transport, api) as channel:
        image, video, audio = [await uploaded(channel, kind) for kind in ("image", "video", "audio")]
        first = video_task()
        await channel.send([first])
        _, done = await api.wait_done(first["taskUUID"])
        generated = done["data"][0]["videoUUID"]
        tasks = [sized_by_frame(image), video_task(inputs={"referenceImages": [image]}),
                 video_task(inputs={"referenceVideos": [video, generated]}), video_task(inputs={"audio": audio}),
                 video_task(inputs={"referenceImages": [image], "referenceVideos": [generated], "audio": audio})]
        body = await channel.send(tasks)
    assert "errors" not in body, body
    assert [item["taskUUID"] for item in body["data"]] == [task["taskUUID"] for task in tasks]
    _, done = await api.wait_done(tasks[0]["taskUUID"])
    _, _, rendered = await api.get(done["data"][0]["videoURL"])
    assert probe(rendered)[:2] == (720, 1280)  # the stored 360x640 image's aspect chose the size


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("kind, inputs, parameter, takes, is_", [
    ("audio", lambda u: {"referenceVideos": [u]}, "inputs.referenceVideos[0]", "a video (MP4, MOV or WEBM)", "audio (audio/wav)"),
    ("image", lambda u: {"audio": u}, "inputs.audio", "audio (MP3, WAV or FLAC)", "an image (image/png)"),
    ("video", lambda u: {"frameImages": [{"image": u, "frame": "first"}]}, "inputs.frameImages[0].image",
     "an image (PNG, JPEG, WEBP, GIF or BMP)", "a video (video/mp4)"),
    ("audio", lambda u: {"referenceImages": [u]}, "inputs.referenceImages[0]", "an image", "audio (audio/wav)"),
])
async def test_an_asset_of_the_wrong_kind_is_invalid_input_uuid(api, transport, kind, inputs, parameter, takes, is_):
    async with open_channel(transport, api) as channel:
        uuid = await uploaded(channel, kind)
        task = video_task(inputs=inputs(uuid))
        error = only_error(await channel.send([task]))
    assert (error["code"], error["parameter"], error["taskUUID"]) == ("invalidInputUUID", parameter, task["taskUUID"])
    assert f"takes {takes}" in error["message"] and f"the UUID {uuid} is {is_}" in error["message"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_url_upload_has_the_kind_its_task_or_extension_gives_else_any(api, transport):
    """URLs are never fetched: an imageUpload's URL is an image, a mediaStorage URL is what its
    extension names, and one naming nothing may stand for any kind."""
    async with open_channel(transport, api) as channel:
        image = only_item(await channel.send([{"taskType": "imageUpload", "taskUUID": new_uuid(),
                                               "image": "https://cdn.example/picture"}]))["imageUUID"]
        video = (await store(channel, "https://cdn.example/clip.mov"))["mediaUUID"]
        anything = (await store(channel, "https://cdn.example/blob"))["mediaUUID"]
        wrong = only_error(await channel.send([video_task(inputs={"audio": image})]))
        also_wrong = only_error(await channel.send([video_task(inputs={"audio": video})]))
        body = await channel.send([video_task(inputs={"audio": anything}), video_task(inputs={"referenceVideos": [video]})])
    assert (wrong["code"], wrong["parameter"]) == ("invalidInputUUID", "inputs.audio")
    assert f"the UUID {image} is an image (a URL)" in wrong["message"]
    assert f"the UUID {video} is a video (video/quicktime)" in also_wrong["message"]
    assert "errors" not in body and len(body["data"]) == 2


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_generated_video_is_no_image(api, transport):
    async with open_channel(transport, api) as channel:
        first = video_task()
        await channel.send([first])
        _, done = await api.wait_done(first["taskUUID"])
        error = only_error(await channel.send([sized_by_frame(done["data"][0]["videoUUID"])]))
    assert (error["code"], error["parameter"]) == ("invalidInputUUID", "inputs.frameImages[0]")
    assert "is a generated video" in error["message"]


async def refused(channel, inputs: dict) -> dict:
    error = only_error(await channel.send([video_task(inputs=inputs)]))
    assert error["code"] == "unknownInputUUID", error
    return error


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_another_keys_asset_is_refused_as_such(api, transport):
    async with open_channel(transport, api) as mine:
        audio = await uploaded(mine, "audio")
        first = video_task()
        await mine.send([first])
        _, done = await api.wait_done(first["taskUUID"])
    async with open_channel(transport, api.as_key("intruder")) as theirs:
        for inputs in ({"audio": audio}, {"referenceVideos": [done["data"][0]["videoUUID"]]}):
            error = await refused(theirs, inputs)
            assert "belongs to another API key" in error["message"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_deleted_asset_and_an_unknown_uuid_say_so(api, transport):
    async with open_channel(transport, api) as channel:
        video = await uploaded(channel, "video")
        only_item(await channel.send([media_task(video, "delete")]))
        deleted = await refused(channel, {"referenceVideos": [video]})
        unknown = await refused(channel, {"referenceImages": [new_uuid()]})
    assert deleted["parameter"] == "inputs.referenceVideos[0]" and "was deleted with mediaStorage" in deleted["message"]
    assert unknown["parameter"] == "inputs.referenceImages[0]" and "is not known" in unknown["message"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_upload_expires_30_days_after_its_last_use(clocked, transport):
    async with open_channel(transport, clocked) as channel:
        kept, idle = await uploaded(channel, "audio"), await uploaded(channel, "audio")
        await clocked.call("POST", "clock/advance", {"seconds": 20 * DAY})
        assert only_item(await channel.send([video_task(inputs={"audio": kept})]))  # used: 30 days from now
        await clocked.call("POST", "clock/advance", {"seconds": 15 * DAY})
        assert only_item(await channel.send([video_task(inputs={"audio": kept})]))
        expired = await refused(channel, {"audio": idle})
    assert "was an upload that expired" in expired["message"] and "30 days after their last use" in expired["message"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_generated_video_resolves_only_while_its_task_is_done_and_alive(clocked, transport):
    """Staggered release hands out a task's first videoUUID while the task still runs: the one way a
    client can hold the UUID of an unfinished (or later failed) task."""
    await clocked.results("staggered")
    async with open_channel(transport, clocked) as channel:
        running = video_task(ttl=60, numberResults=2)
        await channel.send([running])
        video_uuid = await _first_released(channel, running["taskUUID"])
        unfinished = await refused(channel, {"referenceVideos": [video_uuid]})
        await channel.send([{"taskType": "getResponse", "taskUUID": running["taskUUID"]}])  # the last result: done
        assert only_item(await channel.send([video_task(inputs={"referenceVideos": [video_uuid]})]))
        await clocked.call("POST", "clock/advance", {"seconds": 61})
        expired = await refused(channel, {"referenceVideos": [video_uuid]})

        failing = video_task(numberResults=2)
        await channel.send([failing])
        failed_uuid = await _first_released(channel, failing["taskUUID"])
        await clocked.fail(failing["taskUUID"])
        failed = await refused(channel, {"referenceVideos": [failed_uuid]})
    assert f"is a video of task {running['taskUUID']}, which has not finished" in unfinished["message"]
    assert f"was a video of task {running['taskUUID']}, whose results expired" in expired["message"]
    assert f"task {failing['taskUUID']}, which failed" in failed["message"]


async def _first_released(channel, task_uuid: str) -> str:
    """Poll a staggered task until its first result is out; that result's videoUUID."""
    async with asyncio.timeout(30):
        while True:
            body = await channel.send([{"taskType": "getResponse", "taskUUID": task_uuid}])
            released = [item for item in body.get("data", []) if item.get("status") == "success"]
            if released:
                return released[0]["videoUUID"]
            await asyncio.sleep(0.05)

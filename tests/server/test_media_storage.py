"""mediaStorage over REST and WebSocket alike: uploads of every listed image, video and audio format
(data URI, base64, URL), served back byte for byte with their Content-Type; deletes by UUID; the
refusals, each naming ``media`` and saying why."""

from __future__ import annotations

import base64

import pytest
from aiohttp import web
from api_channels import TRANSPORTS, media_task, only_error, only_item, open_channel, store
from jsonschema import Draft7Validator
from media_samples import SAMPLES, sample

from conftest import data_uri, new_uuid, png_bytes, video_task
from mockserver.contract import response_schema
from mockserver.state import MEDIA, STORES

RESULT = Draft7Validator(response_schema("mediaStorage"))
LISTED = {**{name: (extension, content_type) for name, (_, extension, content_type) in SAMPLES.items()},
          "png": ("png", "image/png")}


def file_of(name: str) -> bytes:
    return png_bytes(40, 30) if name == "png" else sample(name)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("name", list(LISTED))
async def test_an_upload_is_stored_and_served_as_what_its_bytes_are(api, transport, name):
    data = file_of(name)
    extension, content_type = LISTED[name]
    async with open_channel(transport, api) as channel:
        task = media_task(data_uri(data, "application/octet-stream"))  # the label is not trusted
        item = only_item(await channel.send([task]))
    RESULT.validate(item)
    assert (item["taskType"], item["taskUUID"], item["operation"]) == ("mediaStorage", task["taskUUID"], "upload")
    assert item["mediaURL"] == f"{api.base_url}/media/{item['mediaUUID']}.{extension}"
    status, headers, served = await api.get(item["mediaURL"])
    assert (status, headers["Content-Type"], served) == (200, content_type, data)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_raw_base64_uploads_like_a_data_uri(api, transport):
    async with open_channel(transport, api) as channel:
        item = await store(channel, base64.b64encode(sample("flac")).decode())
    assert item["mediaURL"].endswith(".flac")
    assert (await api.get(item["mediaURL"]))[2] == sample("flac")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_url_is_recorded_as_its_own_media_url_and_never_fetched(api, transport, aiohttp_server):
    hits = []

    async def count(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=sample("mp3"), content_type="audio/mpeg")

    app = web.Application()
    app.router.add_get("/{name}", count)
    origin = await aiohttp_server(app)
    url = f"http://127.0.0.1:{origin.port}/voice.mp3"
    async with open_channel(transport, api) as channel:
        item = await store(channel, url)
        RESULT.validate(item)
        assert item["mediaURL"] == url
        # usable as the audio it names, still without a fetch
        assert (await channel.send([video_task(inputs={"audio": item["mediaUUID"]})]))["data"]
    assert hits == []


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("media, why", [
    (data_uri(b"plain text, not media", "audio/mpeg"), "none of the listed formats"),
    (data_uri(sample("ogg"), "audio/ogg"), "none of the listed formats"),
    (data_uri(sample("mkv"), "video/webm"), "none of the listed formats"),
    (data_uri(sample("m4a"), "audio/mp4"), "none of the listed formats"),
    (data_uri(png_bytes(64, 64)[:80]), "its image does not decode"),
    ("data:audio/wav;base64,", "not valid base64"),
], ids=["text", "ogg", "mkv", "m4a", "truncated-png", "empty"])
async def test_media_that_is_none_of_the_listed_formats_is_invalid_media(api, transport, media, why):
    async with open_channel(transport, api) as channel:
        task = media_task(media)
        error = only_error(await channel.send([task]))
    assert (error["code"], error["parameter"], error["taskUUID"]) == ("invalidMedia", "media", task["taskUUID"])
    assert "taskType" not in error
    assert why in error["message"] and "MP3, WAV or FLAC" in error["message"]
    assert channel.status in (None, 400)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("operation, media", [("upload", "3ad204c3-a9de-4963-8a1a-c3911e3afafe"),
                                              ("delete", "https://example.com/a.png"), ("delete", "AAAA")])
async def test_each_operation_takes_its_own_form_of_media(api, transport, operation, media):
    async with open_channel(transport, api) as channel:
        error = only_error(await channel.send([media_task(media, operation)]))
    assert (error["code"], error["parameter"]) == ("invalidMedia", "media")
    assert ("UUID" in error["message"]) == (operation == "delete")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_delete_forgets_the_media_and_its_url(server, api, transport):
    async with open_channel(transport, api) as channel:
        item = await store(channel, data_uri(sample("wav")))
        files = server.app[MEDIA].stats()["files"]
        task = media_task(item["mediaUUID"], "delete")
        deleted = only_item(await channel.send([task]))
        RESULT.validate(deleted)
        assert deleted == {"taskType": "mediaStorage", "taskUUID": task["taskUUID"], "operation": "delete",
                           "mediaUUID": item["mediaUUID"]}
        assert (await api.get(item["mediaURL"]))[0] == 404
        assert server.app[MEDIA].stats()["files"] == files - 1
        again = only_error(await channel.send([media_task(item["mediaUUID"], "delete")]))
    assert (again["code"], again["parameter"]) == ("mediaNotFound", "media")
    assert "was deleted with mediaStorage" in again["message"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_image_upload_is_deletable_too(api, transport):
    async with open_channel(transport, api) as channel:
        upload = only_item(await channel.send([{"taskType": "imageUpload", "taskUUID": new_uuid(),
                                                "image": data_uri(png_bytes(16, 16))}]))
        deleted = only_item(await channel.send([media_task(upload["imageUUID"], "delete")]))
    assert deleted["mediaUUID"] == upload["imageUUID"]
    assert (await api.get(upload["imageURL"]))[0] == 404


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_what_cannot_be_deleted_says_why(api, transport):
    async with open_channel(transport, api) as mine:
        item = await store(mine, data_uri(sample("mp4")))
        video = video_task()
        await mine.send([video])
        _, done = await api.wait_done(video["taskUUID"])
        generated = only_error(await mine.send([media_task(done["data"][0]["videoUUID"], "delete")]))
        unknown = only_error(await mine.send([media_task(new_uuid(), "delete")]))
    async with open_channel(transport, api.as_key("other-key")) as theirs:
        foreign = only_error(await theirs.send([media_task(item["mediaUUID"], "delete")]))
    assert {error["code"] for error in (generated, unknown, foreign)} == {"mediaNotFound"}
    assert "is a generated video, not stored media" in generated["message"]
    assert "is not known" in unknown["message"]
    assert "belongs to another API key" in foreign["message"]
    assert (await api.get(item["mediaURL"]))[0] == 200  # another key's delete changed nothing


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_task_uuid_is_used_once_and_a_refused_upload_leaves_it_free(api, transport):
    async with open_channel(transport, api) as channel:
        task = media_task(data_uri(b"not media"))
        assert only_error(await channel.send([task]))["code"] == "invalidMedia"
        fixed = {**task, "media": data_uri(sample("wav"))}
        assert only_item(await channel.send([fixed]))["mediaUUID"]
        conflict = only_error(await channel.send([fixed]))
    assert (conflict["code"], conflict["parameter"]) == ("conflictTaskUUID", "taskUUID")


async def test_reset_forgets_a_keys_stored_media_and_their_ledger(server, api):
    async with open_channel("rest", api) as channel:
        item = await store(channel, data_uri(sample("mp3")))
    reset = (await api.call("POST", "reset"))["reset"]
    assert set(reset) == set(server.app[STORES])
    assert (reset["uploads"], reset["media"], reset["assets"]) == (1, 1, 1)
    assert (await api.get(item["mediaURL"]))[0] == 404
    async with open_channel("rest", api) as channel:
        error = only_error(await channel.send([video_task(inputs={"audio": item["mediaUUID"]})]))
    assert error["code"] == "unknownInputUUID" and "is not known" in error["message"]

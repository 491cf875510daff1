"""Dry runs (``X-Runware-Dry-Run: 1`` over REST, ``?dryRun=1`` on the socket URL): every task is
validated as a real run would be (the same errors), a valid one is answered with what it would
bill, and nothing starts: no job, no render, no upload, no webhook, the taskUUID stays free."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web
from api_channels import TRANSPORTS, media_task, only_error, only_item, open_channel, store
from jsonschema import Draft7Validator
from media_samples import sample

from conftest import data_uri, new_uuid, png_bytes, video_task
from mockserver.contract import model_profile, response_schema
from mockserver.state import JOBS, MEDIA, SYNTHESIZER

PRICED = Draft7Validator(response_schema("dryRun"))
PER_SECOND_720P = model_profile()["pricing"]["perSecond"]["720p"]["default"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_valid_video_task_is_priced_and_nothing_starts(server, api, transport, aiohttp_server):
    hooks = []

    async def webhook(request: web.Request) -> web.Response:
        hooks.append(await request.read())
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", webhook)
    receiver = await aiohttp_server(app)
    task = video_task(numberResults=3, duration=4, webhookURL=f"http://127.0.0.1:{receiver.port}/hook")
    renders = server.app[SYNTHESIZER].stats()
    async with open_channel(transport, api, dry_run=True) as channel:
        item = only_item(await channel.send([task]))
        poll = only_error(await channel.send([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]))
    PRICED.validate(item)
    assert item == {"taskType": "videoInference", "taskUUID": task["taskUUID"],
                    "cost": round(PER_SECOND_720P * 4 * 3, 6)}  # the whole task: three videos of 4 s
    assert poll["code"] == "taskFailedOrNotFound"
    assert server.app[JOBS].stats() == {"processing": 0, "success": 0, "error": 0}
    assert (await api.call("GET", "tasks"))["tasks"] == []
    await asyncio.sleep(0.3)
    assert server.app[SYNTHESIZER].stats() == renders and hooks == [] and await api.deliveries() == []

    async with open_channel(transport, api) as channel:  # the real run: the taskUUID is still free
        assert only_item(await channel.send([task])) == {"taskType": "videoInference", "taskUUID": task["taskUUID"]}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("task", [video_task(width=1000), video_task(inputs={"frameImages": ["data:image/png;base64,AAAA"]}),
                                  video_task(inputs={"audio": "3ad204c3-a9de-4963-8a1a-c3911e3afafe"}),
                                  media_task(data_uri(b"no media")), {"taskType": "videoInference"}],
                         ids=["size", "not-an-image", "unknown-uuid", "not-media", "no-uuid"])
async def test_an_invalid_task_gets_the_same_error_as_a_real_run(api, transport, task):
    async with open_channel(transport, api, dry_run=True) as dry:
        priced = only_error(await dry.send([task]))
    async with open_channel(transport, api) as real:
        ran = only_error(await real.send([task]))
    assert priced == ran
    assert dry.status == real.status


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_used_task_uuid_is_a_conflict_in_a_dry_run_too(api, transport):
    task = video_task()
    async with open_channel(transport, api) as real:
        await real.send([task])
    async with open_channel(transport, api, dry_run=True) as dry:
        assert only_error(await dry.send([task]))["code"] == "conflictTaskUUID"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_uploads_are_checked_but_not_stored(server, api, transport):
    async with open_channel(transport, api) as real:
        stored = await store(real, data_uri(sample("wav")))
    files = server.app[MEDIA].stats()["files"]
    upload, image, delete = media_task(data_uri(sample("flac"))), {
        "taskType": "imageUpload", "taskUUID": new_uuid(), "image": data_uri(png_bytes(8, 8))}, media_task(
        stored["mediaUUID"], "delete")
    async with open_channel(transport, api, dry_run=True) as dry:
        body = await dry.send([upload, image, delete])
        missing = only_error(await dry.send([media_task(new_uuid(), "delete")]))
    for item in body["data"]:
        PRICED.validate(item)
    assert body == {"data": [
        {"taskType": "mediaStorage", "taskUUID": upload["taskUUID"], "operation": "upload", "cost": 0},
        {"taskType": "imageUpload", "taskUUID": image["taskUUID"], "cost": 0},
        {"taskType": "mediaStorage", "taskUUID": delete["taskUUID"], "operation": "delete",
         "mediaUUID": stored["mediaUUID"], "cost": 0}]}
    assert missing["code"] == "mediaNotFound"
    assert server.app[MEDIA].stats()["files"] == files  # nothing stored, nothing deleted
    assert (await api.get(stored["mediaURL"]))[0] == 200


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_dry_run_leaves_no_task_details(api, transport):
    task = video_task()
    async with open_channel(transport, api, dry_run=True) as dry:
        await dry.send([task])
        assert only_error(await dry.send([{"taskType": "getTaskDetails", "taskUUID": task["taskUUID"]}]))[
            "code"] == "taskFailedOrNotFound"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_the_journal_marks_dry_runs(api, transport):
    dry_task, real_task = video_task(), video_task()
    async with open_channel(transport, api, dry_run=True) as dry:
        await dry.send([dry_task])
    async with open_channel(transport, api) as real:
        await real.send([real_task])
    [dry_entry] = await api.journal(taskUUID=dry_task["taskUUID"])
    [real_entry] = await api.journal(taskUUID=real_task["taskUUID"])
    assert (dry_entry["dryRun"], real_entry["dryRun"]) == (True, False)


@pytest.mark.parametrize("value, dry", [("1", True), ("true", True), ("0", False), ("", False), ("yes", False)])
async def test_the_header_asks_for_a_dry_run_with_1_or_true(api, value, dry):
    task = video_task()
    _, body = await api.post([task], headers={"X-Runware-Dry-Run": value})
    assert ("cost" in only_item(body)) is dry


async def test_a_rest_query_string_asks_for_nothing(api):
    """REST ignores any query string: only the header makes a dry run there."""
    task = video_task()
    status, body = await api.request("POST", "/v1?dryRun=1", raw=json.dumps([task]).encode(),
                                     headers={"Content-Type": "application/json"})
    assert status == 200 and only_item(body) == {"taskType": "videoInference", "taskUUID": task["taskUUID"]}

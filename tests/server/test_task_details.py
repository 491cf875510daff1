"""getTaskDetails over REST and WebSocket alike: a task of this key as it was submitted, with the
reply last given for it (its ack, a poll's processing or success items, its error); unknown tasks get
getResponse's code. The record is bounded, namespaced and reset with the key."""

from __future__ import annotations

import pytest
from api_channels import TRANSPORTS, media_task, only_error, only_item, open_channel
from jsonschema import Draft7Validator
from media_samples import sample

from conftest import data_uri, new_uuid, video_task
from mockserver.contract import response_schema
from mockserver.jobs.task_details import TaskDetails

RESULT = Draft7Validator(response_schema("getTaskDetails"))


def details_of(task_uuid: str) -> list[dict]:
    return [{"taskType": "getTaskDetails", "taskUUID": task_uuid}]


async def details(channel, task_uuid: str) -> dict:
    item = only_item(await channel.send(details_of(task_uuid)))
    RESULT.validate(item)
    assert (item["taskType"], item["taskUUID"]) == ("getTaskDetails", task_uuid)
    return item


def poll(task_uuid: str) -> list[dict]:
    return [{"taskType": "getResponse", "taskUUID": task_uuid}]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_video_task_shows_its_request_then_each_reply_as_last_given(api, transport):
    await api.progression("polls:1")
    task = video_task(numberResults=2, includeCost=True)  # as sent: no defaults filled in
    async with open_channel(transport, api) as channel:
        ack = await channel.send([task])
        first = await details(channel, task["taskUUID"])
        assert first["request"] == [task] and first["response"] == ack
        processing = await channel.send(poll(task["taskUUID"]))
        assert (await details(channel, task["taskUUID"]))["response"] == processing
        assert processing["data"][-1]["status"] == "processing"
        _, done = await api.wait_done(task["taskUUID"])
        last = await details(channel, task["taskUUID"])
    assert last["request"] == [task]
    assert last["response"] == done and len(done["data"]) == 2 and done["data"][0]["status"] == "success"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_failed_task_shows_its_error(api, transport):
    await api.progression("manual")
    task = video_task()
    async with open_channel(transport, api) as channel:
        await channel.send([task])
        await api.fail(task["taskUUID"], "providerError")
        failure = await channel.send(poll(task["taskUUID"]))
        item = await details(channel, task["taskUUID"])
    assert item["response"] == failure
    assert item["response"]["errors"][0]["code"] == "providerError" and item["response"]["errors"][0]["status"] == "error"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_refused_task_shows_why_and_a_conflict_never_overwrites_the_accepted_one(api, transport):
    async with open_channel(transport, api) as channel:
        bad = video_task(width=1000)
        refusal = await channel.send([bad])
        assert (await details(channel, bad["taskUUID"])) == {
            "taskType": "getTaskDetails", "taskUUID": bad["taskUUID"], "request": [bad], "response": refusal}
        fixed = {**bad, "width": 1280}
        ack = await channel.send([fixed])
        assert (await details(channel, bad["taskUUID"]))["response"] == ack
        other = {**fixed, "positivePrompt": "something else"}
        assert only_error(await channel.send([other]))["code"] == "conflictTaskUUID"
        item = await details(channel, bad["taskUUID"])
    assert item["request"] == [fixed] and item["response"] == ack


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_uploads_have_details_too(api, transport):
    async with open_channel(transport, api) as channel:
        task = media_task(data_uri(sample("mp3")))
        reply = await channel.send([task])
        item = await details(channel, task["taskUUID"])
    assert item["request"] == [task] and item["response"] == reply


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_unknown_or_foreign_task_is_not_found_like_getresponse(api, transport):
    mine = video_task()
    async with open_channel(transport, api) as channel:
        await channel.send([mine])
    unknown = new_uuid()
    async with open_channel(transport, api.as_key("someone-else")) as channel:
        foreign = only_error(await channel.send(details_of(mine["taskUUID"])))
        missing = only_error(await channel.send(details_of(unknown)))
        polled = only_error(await channel.send(poll(unknown)))
        status = channel.status
    assert foreign["code"] == missing["code"] == polled["code"] == "taskFailedOrNotFound"
    assert (missing["parameter"], missing["taskUUID"]) == ("taskUUID", unknown) and "taskType" not in missing
    assert status in (None, 400)


async def test_reset_forgets_the_keys_details(api):
    task = video_task()
    async with open_channel("rest", api) as channel:
        await channel.send([task])
        assert (await api.call("POST", "reset"))["reset"]["taskDetails"] == 1
        assert only_error(await channel.send(details_of(task["taskUUID"])))["code"] == "taskFailedOrNotFound"


def record(store: TaskDetails, namespace: str, number: int, weight: int = 10) -> str:
    task_uuid = f"00000000-0000-4000-8000-{number:012d}"
    store.submitted(namespace, {"taskType": "videoInference", "taskUUID": task_uuid}, {"data": []}, accepted=True,
                    weight=weight)
    return task_uuid


def test_the_record_is_bounded_per_key_and_in_bytes_oldest_first():
    store = TaskDetails(per_namespace=3, max_bytes=100)
    kept = [record(store, "a", n) for n in range(5)]
    other = record(store, "b", 99)
    assert [store.get("a", uuid) is not None for uuid in kept] == [False, False, True, True, True]
    big = record(store, "c", 7, weight=80)  # over 100 bytes in all: the oldest go, whoever's they are
    assert store.get("c", big) is not None
    assert store.get("a", kept[2]) is None and store.get("a", kept[3]) is None and store.get("b", other) is not None
    assert store.reset("a") == 1 and store.reset() == 2

"""One reset for every store, WebSocket drops as faults, and the control plane's other refusals of
the one-pipeline layout, over real HTTP and WebSocket."""

from __future__ import annotations

import aiohttp

from conformance.client import MockClient
from conftest import KEY, data_uri, png_bytes, new_uuid, video_task
from mockserver.state import MEDIA, STORES


async def test_reset_counts_what_every_registered_store_forgot(server, api: MockClient, control: MockClient, http):
    task = video_task(numberResults=2)
    await api.post([task])
    _, done = await api.wait_done(task["taskUUID"])
    await api.post([{"taskType": "imageUpload", "taskUUID": new_uuid(), "image": data_uri(png_bytes(32, 32))}])
    await control.fault(action="nsfw", times="unlimited")
    journalled = len(await control.journal())
    reset = (await control.call("POST", "reset"))["reset"]
    assert set(reset) == set(server.app[STORES])  # every store reports, under its registry name
    assert (reset["jobs"], reset["uploads"], reset["media"], reset["faults"], reset["taskIndex"]) == (1, 1, 3, 1, 1)
    assert reset["journalEntries"] == journalled >= 3  # the submit, the polls, the upload
    for item in done["data"]:
        assert (await api.get(item["videoURL"]))[0] == 404  # the media store forgot the key's files at once


async def test_reset_of_one_key_leaves_the_others_media(server, api: MockClient, control: MockClient):
    mine, theirs = video_task(), video_task()
    await api.post([mine])
    await api.as_key("other").post([theirs])
    _, their_body = await api.as_key("other").wait_done(theirs["taskUUID"])
    await api.wait_done(mine["taskUUID"])
    assert (await control.call("POST", "reset"))["reset"]["media"] == 1
    assert (await api.get(their_body["data"][0]["videoURL"]))[0] == 200
    assert server.app[MEDIA].stats()["files"] == 1


async def test_ws_drop_with_on_installs_a_fault_that_fires_once(server, control: MockClient, http):
    armed = await control.call("POST", "ws/drop", {"apiKey": KEY, "how": "abort", "on": "ping"})
    fault = armed["armed"]
    assert (fault["action"], fault["match"], fault["namespace"], fault["times"]) == (
        "abort", {"taskType": "ping", "transport": "ws"}, KEY, 1)
    assert [f["id"] for f in (await control.call("GET", "faults"))["faults"]] == [fault["id"]]
    async with http.ws_connect(f"{server.base_url}/v1") as ws:
        await ws.send_json([{"taskType": "authentication", "apiKey": KEY}])
        await ws.receive_json()
        await ws.send_json([{"taskType": "ping", "ping": True}])
        message = await ws.receive(timeout=10)
        assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE)
    assert (await control.call("GET", f"faults/{fault['id']}"))["applied"] == 1


async def test_waiting_for_deliveries_of_a_task_never_submitted_is_404_at_once(control: MockClient):
    status, body = await control.request("GET", "deliveries/wait", params={"taskUUID": new_uuid(), "timeout": 300})
    assert (status, body["errors"][0]["code"]) == (404, "controlResourceNotFound")


async def test_progression_accepts_only_its_grammar(control: MockClient):
    for policy in ("seconds:inf", "seconds:nan", "polls:-1", "polls:1.5", "seconds:", "manual:3", " polls:2x"):
        status, body = await control.request("PUT", "progression", {"policy": policy})
        assert (status, body["errors"][0]["code"]) == (400, "invalidControlRequest"), policy
    assert (await control.call("PUT", "progression", {"policy": "seconds:0.25"}))["policy"] == "seconds:0.25"


async def test_a_body_that_is_not_json_or_not_an_object_is_refused_by_its_schema(control: MockClient):
    status, body = await control.request("POST", "faults", raw=b"{not json", headers={"Content-Type": "application/json"})
    assert (status, body["errors"][0]["message"]) == (400, "The body must be JSON.")
    status, body = await control.request("POST", "faults", [])
    assert (status, body["errors"][0]["message"]) == (400, "the body must be of type object.")
    status, body = await control.request("POST", "faults", {"action": {}})
    assert status == 400 and body["errors"][0]["message"] == "action must be of type string."


async def test_query_numbers_are_read_as_their_schema_types(control: MockClient):
    for params, words in (({"limit": "two"}, "limit must be an integer"), ({"limit": "0"}, "limit must be within"),
                          ({"since": "inf"}, "since must be finite"), ({"transport": "smoke"}, "transport must be one of")):
        status, body = await control.request("GET", "journal", params=params)
        assert status == 400 and words in body["errors"][0]["message"], (params, body)

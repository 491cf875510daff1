"""Result release: ``together`` (every result in one getResponse reply, the default) and
``staggered`` (once done, each poll releases one more result: the reply carries every result
released so far plus one ``processing`` item, and the poll releasing the last one answers
success with all of them). Selected server-wide, per namespace, per task and by scenario."""

from __future__ import annotations

import asyncio

import pytest
from jsonschema import Draft7Validator

from conformance.client import MockClient
from conftest import KEY, video_task
from mockserver.config import ConfigError, load_config
from mockserver.contract import response_schema
from mockserver.state import JOBS

ENVELOPE = Draft7Validator(response_schema("envelope"))
ITEM = {status: Draft7Validator(response_schema(status)) for status in ("processing", "success")}


async def submitted(api: MockClient, headers: dict | None = None, **fields) -> dict:
    task = video_task(**fields)
    status, body = await api.post([task], headers=headers)
    assert status == 200, body
    return task


async def rendered(server, task: dict, key: str = "test-key") -> None:
    job = server.app[JOBS].get(key, task["taskUUID"])
    await asyncio.wait_for(server.app[JOBS].wait_rendered(job), 30)


async def replies(api: MockClient, task: dict, count: int) -> list[list[dict]]:
    """The data items of ``count`` polls, each reply checked against schemas/responses/."""
    found = []
    for _ in range(count):
        status, body = await api.poll(task["taskUUID"])
        assert status == 200 and set(body) == {"data"}, body
        ENVELOPE.validate(body)
        for item in body["data"]:
            ITEM[item["status"]].validate(item)
        found.append(body["data"])
    return found


def statuses(items: list[dict]) -> list[str]:
    return [item["status"] for item in items]


def staggered_shape(polls: list[list[dict]], n: int) -> None:
    """1 success + processing, 2 + processing, ..., then n successes; cumulative and distinct."""
    assert [statuses(items) for items in polls] == [
        ["success"] * k + ["processing"] for k in range(1, n)] + [["success"] * n]
    final = polls[-1]
    assert len({item["videoUUID"] for item in final}) == n
    for k, items in enumerate(polls[:-1], start=1):
        assert items[:k] == final[:k], "a reply re-sends exactly the results released before"
        assert items[-1] == {"taskType": "videoInference", "taskUUID": final[0]["taskUUID"], "status": "processing"}


# -- server-wide --------------------------------------------------------------------------------


async def test_staggered_releases_one_more_result_per_poll(make_server, http):
    server = await make_server(results="staggered")
    api = MockClient(server.base_url, KEY, session=http)
    task = await submitted(api, numberResults=3, seed=10, includeCost=True)
    await rendered(server, task)
    polls = await replies(api, task, 3)
    staggered_shape(polls, 3)
    assert [item["seed"] for item in polls[-1]] == [10, 11, 12]
    assert all(item["cost"] > 0 and item["NSFWContent"] is False for item in polls[-1])
    assert server.app[JOBS].get("test-key", task["taskUUID"]).status == "success"
    assert await replies(api, task, 1) == [polls[-1]], "a finished task keeps answering every result"
    for item in polls[0][:1]:  # a released result is downloadable before the task finishes
        assert (await api.get(item["videoURL"]))[0] == 200


async def test_together_is_the_default_and_unchanged(server, http):
    api = MockClient(server.base_url, KEY, session=http)
    task = await submitted(api, numberResults=3)
    await rendered(server, task)
    [items] = await replies(api, task, 1)
    assert statuses(items) == ["success"] * 3 and len({item["videoUUID"] for item in items}) == 3


async def test_staggered_waits_for_the_progression_policy(make_server, http):
    server = await make_server(results="staggered", progression="polls:2")
    api = MockClient(server.base_url, KEY, session=http)
    task = await submitted(api, numberResults=2)
    await rendered(server, task)
    polls = await replies(api, task, 4)
    assert [statuses(items) for items in polls] == [
        ["processing"], ["processing"], ["success", "processing"], ["success", "success"]]


async def test_one_result_is_the_same_in_both_modes(make_server, http):
    server = await make_server(results="staggered")
    api = MockClient(server.base_url, KEY, session=http)
    task = await submitted(api)
    await rendered(server, task)
    assert server.app[JOBS].get("test-key", task["taskUUID"]).status == "success"  # no poll needed
    assert [statuses(items) for items in await replies(api, task, 1)] == [["success"]]


async def test_webhooks_fire_when_the_last_result_is_released(make_server, http):
    server = await make_server(results="staggered")
    finished = []

    async def record(job):
        finished.append((job.status, len(job.success_items())))

    server.app[JOBS].on_job_finished.append(record)
    api = MockClient(server.base_url, KEY, session=http)
    task = await submitted(api, numberResults=2, webhookURL="http://127.0.0.1:9/hook")
    await rendered(server, task)
    await replies(api, task, 1)
    await asyncio.sleep(0)
    assert finished == []
    await replies(api, task, 1)
    await asyncio.sleep(0)
    assert finished == [("success", 2)]


async def test_errors_are_not_staggered(make_server, http):
    server = await make_server(results="staggered")
    api = MockClient(server.base_url, KEY, session=http)
    task = await submitted(api, headers={"X-Vidmock-Scenario": "provider-error"}, numberResults=3)
    await rendered(server, task)
    status, body = await api.poll(task["taskUUID"])
    assert body["data"] == [] and set(body) == {"data", "errors"}, (status, body)
    assert (body["errors"][0]["code"], body["errors"][0]["status"]) == ("providerError", "error")


async def test_complete_releases_everything_at_once(make_server, http):
    server = await make_server(results="staggered")
    api, control = MockClient(server.base_url, KEY, session=http), MockClient(server.base_url, KEY, session=http)
    task = await submitted(api, numberResults=3)
    await rendered(server, task)
    await replies(api, task, 1)
    listed = await control.call("GET", f"tasks/{task['taskUUID']}")
    assert (listed["status"], listed["resultRelease"], len(listed["results"])) == ("processing", "staggered", 1)
    completed = await control.call("POST", f"tasks/{task['taskUUID']}/complete")
    assert completed["status"] == "success" and len(completed["results"]) == 3
    assert [statuses(items) for items in await replies(api, task, 1)] == [["success"] * 3]


# -- control plane and scenario -----------------------------------------------------------------


async def test_per_namespace_selection(server, http):
    api, control = MockClient(server.base_url, KEY, session=http), MockClient(server.base_url, KEY, session=http)
    assert await control.call("PUT", "progression", {"results": "staggered"}) == {
        "namespace": "test-key", "results": "staggered"}
    mine, theirs = await submitted(api, numberResults=2), await submitted(api.as_key("other"), numberResults=2)
    await rendered(server, mine)
    await rendered(server, theirs, "other")
    staggered_shape(await replies(api, mine, 2), 2)
    assert [statuses(items) for items in await replies(api.as_key("other"), theirs, 1)] == [["success"] * 2]
    assert await control.call("PUT", "progression", {"results": None, "policy": "immediate"}) == {
        "namespace": "test-key", "policy": "immediate", "results": None}
    again = await submitted(api, numberResults=2)
    await rendered(server, again)
    assert [statuses(items) for items in await replies(api, again, 1)] == [["success"] * 2]


async def test_per_task_selection_before_submit(server, http):
    api, control = MockClient(server.base_url, KEY, session=http), MockClient(server.base_url, KEY, session=http)
    task, other = video_task(numberResults=2), video_task(numberResults=2)
    reply = await control.call("PUT", f"tasks/{task['taskUUID']}/progression", {"results": "staggered"})
    assert reply == {"namespace": "test-key", "taskUUID": task["taskUUID"], "results": "staggered"}
    await api.post([task, other])
    await rendered(server, task)
    await rendered(server, other)
    staggered_shape(await replies(api, task, 2), 2)
    assert [statuses(items) for items in await replies(api, other, 1)] == [["success"] * 2]


async def test_server_wide_selection_without_a_key(server, http):
    api, admin = MockClient(server.base_url, KEY, session=http), MockClient(server.base_url, None, session=http)
    assert await admin.call("PUT", "progression", {"results": "staggered"}) == {"namespace": None, "results": "staggered"}
    task = await submitted(api, numberResults=2)
    await rendered(server, task)
    staggered_shape(await replies(api, task, 2), 2)
    await admin.call("PUT", "progression", {"results": None})
    assert server.app[JOBS].results.default == "together"


@pytest.mark.parametrize("body", [{"results": "sometimes"}, {"results": 2}, {}, {"policy": "manual", "results": "x"}])
async def test_bad_results_requests(server, http, body):
    status, reply = await MockClient(server.base_url, KEY, session=http).request("PUT", "progression", body)
    assert status == 400 and reply["errors"][0]["code"] == "invalidControlRequest"


async def test_staggered_results_scenario(server, http):
    api, control = MockClient(server.base_url, KEY, session=http), MockClient(server.base_url, KEY, session=http)
    listed = {s["name"]: s for s in (await control.call("GET", "scenarios"))["scenarios"]}
    assert listed["staggered-results"]["results"] == "staggered"
    task = await submitted(api, headers={"X-Vidmock-Scenario": "staggered-results, nsfw"}, numberResults=3)
    await rendered(server, task)
    polls = await replies(api, task, 3)
    staggered_shape(polls, 3)
    assert all(item["NSFWContent"] is True for item in polls[-1])
    plain = await submitted(api, numberResults=3)  # the header is per request
    await rendered(server, plain)
    assert [statuses(items) for items in await replies(api, plain, 1)] == [["success"] * 3]


async def test_staggered_over_websocket(make_server, http):
    server = await make_server(results="staggered")
    task = video_task(numberResults=2)
    async with http.ws_connect(f"{server.base_url}/v1") as ws:
        await ws.send_json([{"taskType": "authentication", "apiKey": "test-key"}, task])
        await ws.receive_json()
        await rendered(server, task)
        seen = []
        for _ in range(2):
            await ws.send_json([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
            seen.append(statuses((await ws.receive_json())["data"]))
    assert seen == [["success", "processing"], ["success", "success"]]


# -- settings -----------------------------------------------------------------------------------


def test_results_setting_from_cli_env_and_file(tmp_path):
    file = tmp_path / "vidmock.toml"
    file.write_text('results = "staggered"\n')
    assert load_config({}, {}).results == "together"
    assert load_config({}, {}, file).results == "staggered"
    assert load_config({}, {"VIDMOCK_RESULTS": "staggered"}).results == "staggered"
    assert load_config({"results": "together"}, {"VIDMOCK_RESULTS": "staggered"}).results == "together"
    with pytest.raises(ConfigError, match="VIDMOCK_RESULTS"):
        load_config({}, {"VIDMOCK_RESULTS": "sometimes"})

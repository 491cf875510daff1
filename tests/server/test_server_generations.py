"""Results per generation (numberResults > 1), over REST and WebSocket alike.

The task-polling docs: getResponse "returns the current status of each generation: processing,
success, or error", and "processing and successful generations appear in the data array, while
failed generations are moved to the errors array". The ``generations`` release answers one status
item per generation; a ``taskError`` fault with ``generations`` fails only those generations while
the others deliver, in every release mode.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from jsonschema import Draft7Validator

from conformance.client import MockClient
from conftest import KEY, new_uuid, video_task
from mockserver.contract import response_schema
from mockserver.jobs.store import TASK_ERROR_MESSAGES
from mockserver.state import JOBS

ENVELOPE = Draft7Validator(response_schema("envelope"))
ITEM = {status: Draft7Validator(response_schema(status)) for status in ("processing", "success")}
ERROR_ITEM = Draft7Validator(response_schema("error"))
TRANSPORTS = ["rest", "ws"]


class Channel:
    """Tasks out, one reply in: ``POST /v1`` or one frame on an authenticated socket."""

    def __init__(self, api: MockClient, headers: dict | None, ws=None) -> None:
        self.api, self.headers, self.ws = api, headers, ws

    async def send(self, tasks: list[dict]) -> tuple[int | None, dict]:
        """(HTTP status, or None on a socket; the reply body)."""
        if self.ws is None:
            return await self.api.post(tasks, headers=self.headers)
        await self.ws.send_json(tasks)
        return None, await self.ws.receive_json(timeout=10)

    async def poll(self, task_uuid: str) -> tuple[int | None, dict]:
        return await self.send([{"taskType": "getResponse", "taskUUID": task_uuid}])


@contextlib.asynccontextmanager
async def channel(transport: str, server, http, headers: dict | None = None) -> AsyncIterator[Channel]:
    api = MockClient(server.base_url, KEY, session=http)
    if transport == "rest":
        yield Channel(api, headers)
        return
    async with http.ws_connect(f"{server.base_url}/v1", headers=headers) as ws:
        await ws.send_json([{"taskType": "authentication", "apiKey": KEY}])
        assert "connectionSessionUUID" in (await ws.receive_json(timeout=10))["data"][0]
        yield Channel(api, None, ws)


def shape(body: dict) -> tuple[list[str], list[str]]:
    """(data statuses, error codes) of a reply, each item checked against schemas/responses/."""
    ENVELOPE.validate(body)
    for item in body.get("data", []):
        ITEM[item["status"]].validate(item)
    for error in body.get("errors", []):
        ERROR_ITEM.validate(error)
    return [item["status"] for item in body.get("data", [])], [error["code"] for error in body.get("errors", [])]


async def submitted(server, chan: Channel, **fields) -> dict:
    """A task accepted and rendered (so the polls that follow meet only its policy and release)."""
    task = video_task(**fields)
    status, ack = await chan.send([task])
    assert status in (200, None) and ack == {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]}
    jobs = server.app[JOBS]
    await asyncio.wait_for(jobs.wait_rendered(jobs.get(KEY, task["taskUUID"])), 30)
    return task


async def polls_until_done(chan: Channel, task: dict, limit: int = 6) -> list[tuple[int | None, dict]]:
    """Every poll reply until one has no processing item left (that one included)."""
    replies = []
    for _ in range(limit):
        status, body = await chan.poll(task["taskUUID"])
        replies.append((status, body))
        if "processing" not in shape(body)[0]:
            return replies
    raise AssertionError(f"still processing after {limit} polls: {replies}")


def failed_generation_item(task: dict, code: str = "providerError") -> dict:
    """What a failed generation looks like in errors[]: the docs' error item, with status, and no
    taskType (no captured error item has one; webhooks and /__mock/ keep it, see ``with_task_type``)."""
    return {"code": code, "message": TASK_ERROR_MESSAGES[code], "taskUUID": task["taskUUID"], "status": "error"}


def with_task_type(item: dict) -> dict:
    return {**item, "taskType": "videoInference"}


def without_documentation(error: dict) -> dict:
    assert error["documentation"].startswith("https://runware.ai/docs/")
    return {key: value for key, value in error.items() if key != "documentation"}


# -- one status item per generation ---------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_generations_release_answers_one_item_per_generation(make_server, http, transport):
    server = await make_server(results="generations", progression="polls:1")
    async with channel(transport, server, http) as chan:
        task = await submitted(server, chan, numberResults=3, seed=10, includeCost=True)
        replies = [body for _, body in await polls_until_done(chan, task)]
        assert [shape(body) for body in replies] == [
            (["processing"] * 3, []), (["success", "processing", "processing"], []),
            (["success", "success", "processing"], []), (["success"] * 3, [])]
        final = replies[-1]["data"]
        processing = {"taskType": "videoInference", "taskUUID": task["taskUUID"], "status": "processing"}
        for settled, body in enumerate(replies[:-1]):
            assert body["data"][:settled] == final[:settled], "settled generations are re-sent as they were"
            assert body["data"][settled:] == [processing] * (3 - settled)
        assert [item["seed"] for item in final] == [10, 11, 12] and len({item["videoUUID"] for item in final}) == 3
        assert (await chan.poll(task["taskUUID"]))[1] == replies[-1], "a finished task keeps answering the same"
        one = await submitted(server, chan, numberResults=1)
        assert [shape(body) for _, body in await polls_until_done(chan, one)] == [
            (["processing"], []), (["success"], [])], "one result looks the same in every mode"


async def test_generations_release_selected_per_task_and_listed(server, http):
    api = MockClient(server.base_url, KEY, session=http)
    task = video_task(numberResults=2)
    assert await api.results("generations", task["taskUUID"]) == {
        "namespace": KEY, "taskUUID": task["taskUUID"], "results": "generations"}
    async with channel("rest", server, http) as chan:
        task = await submitted(server, chan, taskUUID=task["taskUUID"], numberResults=2)
        _, first = await chan.poll(task["taskUUID"])
        assert shape(first) == (["success", "processing"], [])
        listed = await api.call("GET", f"tasks/{task['taskUUID']}")
        assert (listed["status"], listed["resultRelease"]) == ("processing", "generations")
        assert [(g["generation"], g["status"], g["error"]) for g in listed["generations"]] == [
            (0, "success", None), (1, "processing", None)]
        assert listed["generations"][0]["videoUUID"] == first["data"][0]["videoUUID"]


# -- a generation fails alone ---------------------------------------------------------------------

EXPECTED_WITH_GENERATION_1_FAILING = {
    "together": [(["success", "success"], ["providerError"])],
    "staggered": [(["success", "processing"], []), (["success", "processing"], ["providerError"]),
                  (["success", "success"], ["providerError"])],
    "generations": [(["success", "processing", "processing"], []), (["success", "processing"], ["providerError"]),
                    (["success", "success"], ["providerError"])],
}


@pytest.mark.parametrize("release", list(EXPECTED_WITH_GENERATION_1_FAILING))
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_one_generation_fails_while_the_others_deliver(make_server, http, transport, release):
    server = await make_server(results=release)
    api = MockClient(server.base_url, KEY, session=http)
    task_uuid = new_uuid()
    fault = await api.fault("taskError", generations=[1], match={"taskUUID": task_uuid})
    async with channel(transport, server, http) as chan:
        task = await submitted(server, chan, taskUUID=task_uuid, numberResults=3, seed=20)
        replies = await polls_until_done(chan, task)
    assert [shape(body) for _, body in replies] == EXPECTED_WITH_GENERATION_1_FAILING[release]
    assert all(status in (200, None) for status, _ in replies), "the poll itself succeeded"
    final = replies[-1][1]
    assert [without_documentation(error) for error in final["errors"]] == [failed_generation_item(task)]
    assert [item["seed"] for item in final["data"]] == [20, 22], "generations 0 and 2 delivered"

    listed = await api.call("GET", f"tasks/{task_uuid}")
    assert (listed["status"], listed["error"]) == ("success", None)
    assert [(g["generation"], g["status"]) for g in listed["generations"]] == [
        (0, "success"), (1, "error"), (2, "success")]
    assert without_documentation(listed["generations"][1]["error"]) == with_task_type(failed_generation_item(task))
    for item in final["data"]:
        assert (await api.get(item["videoURL"]))[0] == 200
    failed_video = listed["generations"][1]["videoUUID"]
    assert (await api.get(f"{server.base_url}/media/{failed_video}.mp4"))[0] == 404, "a failed generation serves nothing"
    [entry] = [e for e in await api.journal(taskUUID=task_uuid) if e["tasks"][0]["taskType"] == "videoInference"]
    assert entry["faults"] == [{"id": fault["id"], "action": "taskError", "source": "control", "code": "providerError",
                                "generations": [1], "taskUUID": task_uuid}]


async def test_every_generation_failing_fails_the_task(server, http):
    api = MockClient(server.base_url, KEY, session=http)
    task_uuid = new_uuid()
    await api.fault("taskError", code="timeoutProvider", generations=[0, 1], match={"taskUUID": task_uuid})
    async with channel("rest", server, http) as chan:
        task = await submitted(server, chan, taskUUID=task_uuid, numberResults=2)
        [(status, body)] = await polls_until_done(chan, task)
    assert status == 200 and body["data"] == [] and set(body) == {"data", "errors"}
    assert [without_documentation(e) for e in body["errors"]] == [failed_generation_item(task, "timeoutProvider")] * 2
    listed = await api.call("GET", f"tasks/{task_uuid}")
    assert (listed["status"], listed["error"], listed["results"]) == ("error", None, [])
    assert [g["status"] for g in listed["generations"]] == ["error", "error"]


async def test_generation_indices_past_number_results_never_apply(server, http):
    api = MockClient(server.base_url, KEY, session=http)
    await api.fault("taskError", generations=[2, 3], times="unlimited")
    async with channel("rest", server, http) as chan:
        task = await submitted(server, chan, numberResults=2)
        assert [shape(body) for _, body in await polls_until_done(chan, task)] == [(["success", "success"], [])]


async def test_one_result_whose_generation_fails_looks_like_a_failed_task(server, http):
    api = MockClient(server.base_url, KEY, session=http)
    alone, whole = new_uuid(), new_uuid()
    await api.fault("taskError", generations=[0], match={"taskUUID": alone})
    await api.fault("taskError", match={"taskUUID": whole})
    async with channel("rest", server, http) as chan:
        bodies = []
        for task_uuid in (alone, whole):
            task = await submitted(server, chan, taskUUID=task_uuid)
            [(_, body)] = await polls_until_done(chan, task)
            bodies.append({"errors": [{**e, "taskUUID": None} for e in body["errors"]]})
    assert bodies[0] == bodies[1] and len(bodies[0]["errors"]) == 1


async def test_a_failure_of_the_whole_task_wins_over_settled_generations(make_server, http):
    """``POST /__mock/tasks/{id}/fail`` after some generations settled: the task's one error."""
    server = await make_server(results="generations")
    api = MockClient(server.base_url, KEY, session=http)
    async with channel("rest", server, http) as chan:
        task = await submitted(server, chan, numberResults=3)
        assert shape((await chan.poll(task["taskUUID"]))[1]) == (["success", "processing", "processing"], [])
        await api.fail(task["taskUUID"], "providerError", "Stopped.")
        _, body = await chan.poll(task["taskUUID"])
    assert body["data"] == [] and [(e["code"], e["message"]) for e in body["errors"]] == [("providerError", "Stopped.")]


async def test_complete_settles_every_generation_at_once(make_server, http):
    server = await make_server(results="generations")
    api = MockClient(server.base_url, KEY, session=http)
    task_uuid = new_uuid()
    await api.fault("taskError", generations=[2], match={"taskUUID": task_uuid})
    async with channel("rest", server, http) as chan:
        await submitted(server, chan, taskUUID=task_uuid, numberResults=3)
        await chan.poll(task_uuid)
        completed = await api.complete(task_uuid)
        assert [g["status"] for g in completed["generations"]] == ["success", "success", "error"]
        assert shape((await chan.poll(task_uuid))[1]) == (["success", "success"], ["providerError"])


async def test_a_failed_generation_is_no_input_but_its_siblings_are(server, http):
    api = MockClient(server.base_url, KEY, session=http)
    task_uuid = new_uuid()
    await api.fault("taskError", generations=[0], match={"taskUUID": task_uuid})
    async with channel("rest", server, http) as chan:
        task = await submitted(server, chan, taskUUID=task_uuid, numberResults=2)
        [(_, body)] = await polls_until_done(chan, task)
    listed = await api.call("GET", f"tasks/{task_uuid}")
    failed, delivered = (g["videoUUID"] for g in listed["generations"])
    assert body["data"][0]["videoUUID"] == delivered
    status, error = await api.one_error([video_task(inputs={"referenceVideos": [failed]})])
    assert (status, error["code"], error["parameter"]) == (400, "unknownInputUUID", "inputs.referenceVideos[0]")
    assert (await api.post([video_task(inputs={"referenceVideos": [delivered]})]))[0] == 200


# -- scenarios --------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_generation_scenarios(server, http, transport):
    """``generation-error`` fails generation 1 of every task; ``generation-results`` is the release."""
    headers = {"X-Vidmock-Scenario": "generation-error, generation-results"}
    async with channel(transport, server, http, headers) as chan:
        task = await submitted(server, chan, numberResults=3)
        replies = await polls_until_done(chan, task)
        assert [shape(body) for _, body in replies] == EXPECTED_WITH_GENERATION_1_FAILING["generations"]
        single = await submitted(server, chan, numberResults=1)  # no generation 1: it succeeds
        assert [shape(body) for _, body in await polls_until_done(chan, single)] == [(["success"], [])]
    listed = {s["name"]: s for s in (await MockClient(server.base_url, KEY, session=http).call("GET", "scenarios"))["scenarios"]}
    assert listed["generation-results"]["results"] == "generations"
    assert listed["generation-error"]["faults"] == [
        {"action": "taskError", "code": "providerError", "generations": [1], "times": "unlimited"}]


# -- a getResponse error names getResponse ----------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_unknown_task_error_is_scoped_to_the_polled_uuid(server, http, transport):
    """By its taskUUID only: no captured error item carries taskType (the errors doc's example
    did). REST refuses with an empty data[], a frame with errors[] alone, as the captures show."""
    task_uuid = new_uuid()
    async with channel(transport, server, http) as chan:
        status, body = await chan.poll(task_uuid)
    assert status in (400, None) and body.get("data", []) == []
    assert set(body) == ({"data", "errors"} if transport == "rest" else {"errors"})
    [error] = body["errors"]
    assert (error["code"], error["taskUUID"], error["parameter"]) == ("taskFailedOrNotFound", task_uuid, "taskUUID")
    assert "taskType" not in error

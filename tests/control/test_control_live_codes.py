"""The codes seen live, as faults and scenarios, over real sockets: the exact status, code,
parameter and taskUUID a client gets, what getResponse answers afterwards, and the journal."""

from __future__ import annotations

import pytest

from conformance.client import MockClient
from conftest import data_uri, png_bytes, video_task


def i2v_task(**fields) -> dict:
    """An image-to-video task: a first frame, sized from it."""
    frame = {"image": data_uri(png_bytes(64, 36)), "frame": "first"}
    task = video_task(inputs={"frameImages": [frame]}, **fields)
    del task["width"], task["height"]
    return task


async def refused(api: MockClient, tasks: list, headers: dict | None = None) -> tuple[int, dict]:
    """(status, the one error) of a request every task of which was refused."""
    status, body = await api.post(tasks, headers=headers)
    assert body.get("data", []) == [] and len(body["errors"]) == 1, body
    return status, body["errors"][0]


async def test_insufficient_credits_is_a_400_for_the_task_and_the_task_does_not_exist(api: MockClient):
    await api.fault(action="error", code="insufficientCredits", match={"taskType": "videoInference"})
    task = video_task()
    status, error = await refused(api, [task])
    assert (status, error["code"], error["taskUUID"]) == (400, "insufficientCredits", task["taskUUID"])
    assert "credits" in error["message"].lower()
    status, error = await refused(api, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
    assert (status, error["code"]) == (400, "taskFailedOrNotFound")  # without pollsProcessing: never accepted


async def test_polls_of_a_task_refused_with_polls_processing_answer_processing_every_time(api: MockClient):
    fault = await api.fault(action="error", code="insufficientCredits", pollsProcessing=True,
                            match={"taskType": "videoInference"}, times="unlimited")
    task, other = video_task(), video_task()
    assert (await refused(api, [task]))[1]["code"] == "insufficientCredits"
    for _ in range(3):
        status, body = await api.poll(task["taskUUID"])
        assert (status, body) == (200, {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"],
                                                  "status": "processing"}]})
    status, error = await refused(api, [{"taskType": "getResponse", "taskUUID": other["taskUUID"]}])
    assert error["code"] == "taskFailedOrNotFound"  # a task that was never sent is still unknown
    polls = [e for e in await api.journal(taskUUID=task["taskUUID"]) if e["tasks"][0]["taskType"] == "getResponse"]
    assert [e["faults"] for e in polls] == [[{"id": fault["id"], "action": "error", "source": "control",
                                              "code": "insufficientCredits", "pollsProcessing": True,
                                              "taskUUID": task["taskUUID"], "answered": "processing"}]] * 3
    await api.reset()
    assert (await refused(api, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]))[1]["code"] == \
        "taskFailedOrNotFound"


async def test_credits_exhausted_scenario_by_header_over_rest_and_websocket(api: MockClient, http, server):
    header = {"X-Vidmock-Scenario": "credits-exhausted"}
    task = video_task()
    status, error = await refused(api, [task], header)
    assert (status, error["code"], error["taskUUID"]) == (400, "insufficientCredits", task["taskUUID"])
    assert (await api.poll(task["taskUUID"]))[1]["data"][0]["status"] == "processing"  # header not needed any more
    async with http.ws_connect(f"{server.base_url}/v1?scenario=credits-exhausted") as ws:
        await ws.send_json([{"taskType": "authentication", "apiKey": "test-key"}])
        await ws.receive_json()
        socket_task = video_task()
        await ws.send_json([socket_task])
        error = (await ws.receive_json())["errors"][0]
        assert (error["code"], error["taskUUID"]) == ("insufficientCredits", socket_task["taskUUID"])
        await ws.send_json([{"taskType": "getResponse", "taskUUID": socket_task["taskUUID"]}])
        assert (await ws.receive_json())["data"] == [{"taskType": "videoInference", "taskUUID": socket_task["taskUUID"],
                                                      "status": "processing"}]


async def test_the_scenarios_say_where_they_come_from(api: MockClient):
    listing = {item["name"]: item for item in (await api.call("GET", "scenarios"))["scenarios"]}
    assert "as reported, unconfirmed" in listing["credits-exhausted"]["description"]
    assert listing["credits-exhausted"]["faults"] == [{"action": "error", "code": "insufficientCredits",
                                                       "pollsProcessing": True, "match": {"taskType": "videoInference"},
                                                       "times": "unlimited"}]
    assert "1284x716" in listing["inexact-media"]["description"]


async def test_upload_failed_refuses_image_to_video_tasks_only(api: MockClient):
    header = {"X-Vidmock-Scenario": "upload-failed"}
    task = i2v_task()
    status, error = await refused(api, [task], header)
    assert (status, error["code"], error["parameter"], error["taskUUID"], error["message"]) == (
        400, "invalidValueUploadFailed", "inputs.frameImages", task["taskUUID"],
        "Processing parameter 'inputs.frameImages' failed.")
    assert (await api.post([video_task()], headers=header))[0] == 200  # text to video: nothing to upload
    assert (await api.post([i2v_task()]))[0] == 200  # and without the scenario, the same kind of task runs


async def test_input_match_names_a_key_of_inputs(api: MockClient):
    await api.fault(action="error", code="invalidValueUploadFailed", match={"input": "referenceImages"})
    assert (await api.post([i2v_task()]))[0] == 200
    reference = video_task(inputs={"referenceImages": [data_uri(png_bytes(32, 32))]})
    assert (await refused(api, [reference]))[1]["code"] == "invalidValueUploadFailed"


async def test_read_error_once_fails_the_first_poll_of_each_task_then_reads_results(api: MockClient):
    header = {"X-Vidmock-Scenario": "read-error-once"}
    first, second = video_task(), video_task()
    for task in (first, second):
        assert (await api.post([task], headers=header))[0] == 200
    for task in (first, second):
        status, error = await refused(api, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}], header)
        assert (status, error["code"], error["taskUUID"]) == (500, "unknownErrorWhileReadingResults", task["taskUUID"])
        status, body = await api.post([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}], headers=header)
        assert status == 200 and body["data"][0]["taskUUID"] == task["taskUUID"]


@pytest.mark.parametrize("spec, words", [
    ({"action": "error"}, "code"),
    ({"action": "error", "code": "providerError"}, "code must be one of insufficientCredits, "
                                                   "invalidValueUploadFailed, unknownErrorWhileReadingResults"),
    ({"action": "error", "code": "insufficientCredits", "status": 402}, "unknown field for action error: status"),
    ({"action": "inexactMedia", "widthOffset": 3}, "widthOffset is an even number of pixels within -8..8"),
    ({"action": "inexactMedia", "extraFrames": 9}, "extraFrames is a whole number of frames within -4..4"),
    ({"action": "inexactMedia", "pollsProcessing": True}, "unknown field for action inexactMedia: pollsProcessing"),
    ({"action": "error", "code": "insufficientCredits", "match": {"inputs": "x"}}, "match is an object with"),
])
async def test_invalid_live_code_faults_are_refused(api: MockClient, spec, words):
    status, body = await api.request("POST", "faults", spec)
    assert status == 400 and body["errors"][0]["code"] == "invalidControlRequest"
    assert words in body["errors"][0]["message"]


async def test_a_normal_request_never_meets_a_live_code(api: MockClient):
    task = video_task()
    assert (await api.post([task]))[0] == 200
    status, body = await api.wait_done(task["taskUUID"])
    assert status == 200 and body["data"][0]["status"] == "success"
    status, error = await refused(api, [{"taskType": "getResponse", "taskUUID": video_task()["taskUUID"]}])
    assert error["code"] == "taskFailedOrNotFound"

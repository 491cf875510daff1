"""Each fault through a real aiohttp client against a running server: the exact status, headers,
error codes and connection behaviour a client sees, and the journal's record of the fault."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp import web

from conformance.client import MockClient
from conftest import video_task
from mockserver.state import DELIVERY


async def test_429_carries_retry_after_and_rate_limit_error(api: MockClient, control: MockClient):
    fault = await control.fault(action="status", status=429, retryAfter=7)
    task = video_task()
    body = json.dumps([task]).encode()
    async with api.session.post(f"{api.base_url}/v1", data=body, headers={"Authorization": f"Bearer {api.api_key}"}) as r:
        assert r.status == 429
        assert r.headers["Retry-After"] == "7"
        refused = await r.json()
    [error] = refused["errors"]
    assert error["code"] == "rateLimitExceeded" and error["taskUUID"] == task["taskUUID"]
    assert refused["data"] == [] and "taskType" not in error  # a fault refuses in the live envelope too
    status, reply = await api.post([task])  # one-shot: the retry is accepted
    assert status == 200 and reply["data"][0]["taskUUID"] == task["taskUUID"]
    entries = await control.journal(taskUUID=task["taskUUID"])
    assert [e["response"]["status"] for e in entries] == [429, 200]
    assert entries[0]["response"]["headers"]["Retry-After"] == "7"
    assert entries[0]["faults"] == [{"id": fault["id"], "action": "status", "source": "control", "status": 429,
                                     "retryAfter": 7}]
    assert (await control.call("GET", f"faults/{fault['id']}"))["applied"] == 1


@pytest.mark.parametrize("status, code", [(500, "internalServerError"), (502, "badGateway"),
                                          (503, "serviceUnavailable"), (504, "gatewayTimeout")])
async def test_5xx_statuses_answer_with_runware_errors(api: MockClient, control: MockClient, status, code):
    await control.fault(action="status", status=status, times=2)
    for _ in range(2):
        got, error = await api.one_error([video_task()])
        assert (got, error["code"]) == (status, code)
    assert (await api.post([video_task()]))[0] == 200


async def test_match_on_task_type_leaves_other_requests_alone(api: MockClient, control: MockClient):
    await control.fault(action="status", status=503, match={"taskType": "getResponse"}, times="unlimited")
    task = video_task()
    assert (await api.post([task]))[0] == 200
    status, error = await api.one_error([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
    assert (status, error["code"]) == (503, "serviceUnavailable")


async def test_match_on_task_uuid(api: MockClient, control: MockClient):
    target = video_task()
    await control.fault(action="status", status=500, match={"taskUUID": target["taskUUID"]})
    assert (await api.post([video_task()]))[0] == 200
    assert (await api.post([target]))[0] == 500


async def test_reset_is_a_connection_error_and_the_task_was_not_accepted(api: MockClient, control: MockClient):
    await control.fault(action="reset")
    task = video_task()
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.post([task])
    assert (await api.post([task]))[0] == 200  # not processed: the same taskUUID is accepted now
    entries = await control.journal(taskUUID=task["taskUUID"])
    assert entries[0]["response"]["status"] is None and entries[0]["faults"][0]["action"] == "reset"


async def test_reset_after_processing_loses_only_the_reply(api: MockClient, control: MockClient):
    await control.fault(action="reset", processed=True)
    task = video_task()
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.post([task])
    _, error = await api.one_error([task])
    assert error["code"] == "conflictTaskUUID"


async def test_malformed_body_is_not_json(api: MockClient, control: MockClient):
    await control.fault(action="malformed")
    async with api.session.post(f"{api.base_url}/v1", json=[video_task()],
                                headers={"Authorization": f"Bearer {api.api_key}"}) as response:
        assert response.status == 200
        text = await response.text()
    with pytest.raises(ValueError):
        json.loads(text)
    assert (await control.journal())[-1]["response"]["body"] == text


async def test_truncated_body_is_a_payload_error(api: MockClient, control: MockClient):
    await control.fault(action="truncated", processed=True)
    async with api.session.post(f"{api.base_url}/v1", json=[video_task()],
                                headers={"Authorization": f"Bearer {api.api_key}"}) as response:
        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()


async def test_fixed_delay_is_applied_and_journalled(api: MockClient, control: MockClient):
    await control.fault(action="delay", ms=150)
    task = video_task()
    await api.post([task])
    entry = (await control.journal(taskUUID=task["taskUUID"]))[0]
    assert entry["faults"][0]["delayMs"] == 150
    assert entry["durationMs"] >= 150


@pytest.mark.parametrize("spec, low, high", [({"minMs": 10, "maxMs": 40}, 10, 40),
                                             ({"medianMs": 20, "sigma": 0.3}, 1, 400)])
async def test_random_delays_stay_in_their_distribution(api: MockClient, control: MockClient, spec, low, high):
    await control.fault(action="delay", times=3, **spec)
    for _ in range(3):
        await api.post([video_task()])
    delays = [e["faults"][0]["delayMs"] for e in await control.journal()]
    assert len(delays) == 3 and all(low <= d <= high for d in delays)


async def test_task_error_reaches_get_response(api: MockClient, control: MockClient):
    await control.fault(action="taskError", code="timeoutProvider", message="Provider too slow.")
    task = video_task()
    await api.post([task])
    _, body = await api.wait_done(task["taskUUID"])
    error = body["errors"][0]
    assert (error["code"], error["status"], error["taskUUID"], error["message"]) == (
        "timeoutProvider", "error", task["taskUUID"], "Provider too slow.")
    assert body["data"] == [] and "taskType" not in error
    entry = (await control.journal(taskUUID=task["taskUUID"]))[0]
    assert entry["faults"][0]["action"] == "taskError" and entry["faults"][0]["taskUUID"] == task["taskUUID"]


async def test_task_error_reaches_the_webhook(api: MockClient, control: MockClient):
    received = []

    async def hook(request):
        received.append(await request.json())
        return web.Response()

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    runner = web.AppRunner(receiver)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        await control.fault(action="taskError", code="providerError")
        task = video_task(webhookURL=f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
        await api.post([task])
        status, deliveries = await control.request("GET", "deliveries/wait", params={"taskUUID": task["taskUUID"]})
        assert status == 200 and deliveries["deliveries"][0]["state"] == "delivered"
        assert received[0]["errors"][0]["code"] == "providerError"
    finally:
        await runner.cleanup()


async def test_nsfw_marks_results(api: MockClient, control: MockClient):
    await control.fault(action="nsfw")
    flagged, clean = video_task(), video_task()
    await api.post([flagged])
    await api.post([clean])
    assert (await api.wait_done(flagged["taskUUID"]))[1]["data"][0]["NSFWContent"] is True
    assert (await api.wait_done(clean["taskUUID"]))[1]["data"][0]["NSFWContent"] is False


async def test_webhook_fault_sets_the_delivery_behaviour(api: MockClient, control: MockClient, server):
    await control.fault(action="webhook", duplicate=True, delayMs=1500)
    task = video_task()
    await api.post([task])
    behaviour = server.app[DELIVERY].behaviours.get("test-key", task["taskUUID"])
    assert (behaviour.duplicate, behaviour.delay) == (True, 1.5)


async def test_unlimited_fault_until_deleted(api: MockClient, control: MockClient):
    fault = await control.fault(action="status", status=503, times="unlimited")
    for _ in range(3):
        assert (await api.post([video_task()]))[0] == 503
    assert (await control.call("DELETE", f"faults/{fault['id']}")) == {"deleted": 1}
    assert (await api.post([video_task()]))[0] == 200
    assert (await control.request("DELETE", f"faults/{fault['id']}"))[0] == 404


async def test_fault_list_and_delete_all(control: MockClient):
    await control.fault(action="status", status=500)
    await control.fault(action="nsfw", times=3)
    listed = (await control.call("GET", "faults"))["faults"]
    assert [(f["action"], f["times"], f["remaining"]) for f in listed] == [("status", 1, 1), ("nsfw", 3, 3)]
    assert await control.call("DELETE", "faults") == {"deleted": 2}


@pytest.mark.parametrize("spec, words", [
    ({"action": "explode"}, "action must be one of"),
    ({"action": "status", "status": 418}, "status must be one of"),
    ({"action": "delay", "ms": 10, "minMs": 1, "maxMs": 2}, "a delay is one of"),
    ({"action": "reset", "match": {"transport": "ws"}}, "only exists on the rest transport"),
    ({"action": "status", "status": 429, "times": 0}, "times must be"),
    ({"action": "taskError", "code": "noSuchCode"}, "error code of the catalogue"),
    ({"action": "nsfw", "colour": "red"}, "unknown field"),
])
async def test_invalid_faults_are_refused(control: MockClient, spec, words):
    status, body = await control.request("POST", "faults", spec)
    assert status == 400 and body["errors"][0]["code"] == "invalidControlRequest"
    assert words in body["errors"][0]["message"]


@pytest.mark.parametrize("generations, message", [
    ([4], "generations.0: 4 is not a generation index (0..3)."),
    ([-1], "generations.0: -1 is not a generation index (0..3)."),
    ([0, 2.5], "generations.1: 2.5 is not a generation index (0..3)."),
    ([], "generations is a non-empty list of distinct 0-based generation indices."),
    ([1, 1], "generations is a non-empty list of distinct 0-based generation indices."),
    (1, "generations is a non-empty list of distinct 0-based generation indices."),
])
async def test_task_error_generations_are_checked(control: MockClient, generations, message):
    status, body = await control.request("POST", "faults", {"action": "taskError", "generations": generations})
    assert status == 400 and (body["errors"][0]["code"], body["errors"][0]["message"]) == (
        "invalidControlRequest", message)
    assert (await control.call("GET", "faults"))["faults"] == []


async def test_generations_belong_to_task_errors_only(control: MockClient):
    status, body = await control.request("POST", "faults", {"action": "nsfw", "generations": [1]})
    assert status == 400 and body["errors"][0]["message"] == "unknown field for action nsfw: generations."


@pytest.mark.parametrize("transport", ["rest", "ws"])
async def test_task_error_of_one_generation_over_both_transports(server, http, control: MockClient, transport):
    """The fault is listed with its generations, matched on either transport, and journalled."""
    fault = await control.fault(action="taskError", code="timeoutProvider", generations=[0], match={"transport": transport})
    assert (fault["generations"], fault["code"], fault["match"]) == ([0], "timeoutProvider", {"transport": transport})
    task = video_task(numberResults=2)
    if transport == "rest":
        assert (await control.post([task]))[0] == 200
    else:
        async with http.ws_connect(f"{server.base_url}/v1") as ws:
            await ws.send_json([{"taskType": "authentication", "apiKey": "test-key"}, task])
            assert (await ws.receive_json())["data"][1] == {"taskType": "videoInference", "taskUUID": task["taskUUID"]}
    _, body = await control.wait_done(task["taskUUID"])
    assert [(e["code"], e["status"], e["taskUUID"]) for e in body["errors"]] == [
        ("timeoutProvider", "error", task["taskUUID"])]
    listed = await control.call("GET", f"tasks/{task['taskUUID']}")
    assert [g["status"] for g in listed["generations"]] == ["error", "success"]
    assert [item["videoUUID"] for item in body["data"]] == [listed["generations"][1]["videoUUID"]]
    [entry] = [e for e in await control.journal(taskUUID=task["taskUUID"]) if e["tasks"][-1]["taskType"] == "videoInference"]
    assert entry["faults"] == [{"id": fault["id"], "action": "taskError", "source": "control", "code": "timeoutProvider",
                                "generations": [0], "taskUUID": task["taskUUID"]}]
    assert (await control.call("GET", f"faults/{fault['id']}"))["applied"] == 1


async def test_ws_close1011_after_accepting(server, http, control: MockClient):
    await control.fault(action="close1011", match={"taskType": "videoInference"})
    async with http.ws_connect(f"{server.base_url}/v1") as ws:
        await ws.send_json([{"taskType": "authentication", "apiKey": "test-key"}])
        await ws.receive_json()
        task = video_task()
        await ws.send_json([task])
        message = await ws.receive()
        assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1011
    entry = (await control.journal(taskUUID=task["taskUUID"], transport="ws"))[0]
    assert entry["faults"][0]["action"] == "close1011"
    assert entry["response"]["body"]["data"][0]["taskUUID"] == task["taskUUID"]  # waits for a resume


async def test_ws_status_fault_is_an_error_frame(server, http, control: MockClient):
    await control.fault(action="status", status=429, match={"transport": "ws", "taskType": "videoInference"})
    async with http.ws_connect(f"{server.base_url}/v1") as ws:
        await ws.send_json([{"taskType": "authentication", "apiKey": "test-key"}])
        await ws.receive_json()
        task = video_task()
        await ws.send_json([task])
        error = (await ws.receive_json())["errors"][0]
    assert (error["code"], error["taskUUID"]) == ("rateLimitExceeded", task["taskUUID"])

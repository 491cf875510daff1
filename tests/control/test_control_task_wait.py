"""``GET /__mock/tasks/{taskUUID}/wait``: a long-poll that answers as the job ends.

Each wait here is given far more time (300 s) than the client's own request time-out (30 s), so a
wait that answered only at its time-out would fail the test instead of passing slowly: an answer
proves the job's end woke it. Nothing is timed.
"""

from __future__ import annotations

import asyncio

import pytest

from conformance.client import ControlError, MockClient
from conftest import KEY, new_uuid, video_task
from mockserver.control.openapi import openapi_document

LONG = 300  # the longest wait the route accepts


def wait(control: MockClient, task_uuid: str, timeout: float = LONG) -> asyncio.Task:
    """The wait, started in the background: (status, body)."""
    return asyncio.ensure_future(control.request("GET", f"tasks/{task_uuid}/wait", params={"timeout": timeout}))


async def task_waits(control: MockClient) -> int:
    return (await control.call("GET", "health"))["control"]["taskWaits"]


async def waiting(control: MockClient, task_uuid: str) -> asyncio.Task:
    """A wait that the server holds (its health counts it) before the test moves the job."""
    before = await task_waits(control)
    pending = wait(control, task_uuid)
    while await task_waits(control) == before:
        await asyncio.sleep(0.01)
    assert not pending.done()
    return pending


async def manual_task(api: MockClient, **fields) -> dict:
    task = video_task(**fields)
    await api.progression("manual", task["taskUUID"])
    await api.post([task])
    return task


async def test_a_task_the_key_does_not_know_is_404_at_once(api: MockClient, control: MockClient):
    status, body = await control.request("GET", f"tasks/{new_uuid()}/wait", params={"timeout": LONG})
    assert (status, body["errors"][0]["code"]) == (404, "controlResourceNotFound")
    task = await manual_task(api)
    status, body = await control.as_key("another-key").request("GET", f"tasks/{task['taskUUID']}/wait",
                                                               params={"timeout": LONG})
    assert (status, body["errors"][0]["code"]) == (404, "controlResourceNotFound")


async def test_completing_the_task_answers_the_wait_with_its_success(api: MockClient, control: MockClient):
    task = await manual_task(api)
    pending = await waiting(control, task["taskUUID"])
    await control.complete(task["taskUUID"])
    status, body = await pending
    assert (status, body["taskUUID"], body["status"]) == (200, task["taskUUID"], "success")
    assert body["results"][0]["videoURL"].endswith(".mp4") and body["polls"] == 0


async def test_failing_the_task_answers_the_wait_with_its_error(api: MockClient, control: MockClient):
    task = await manual_task(api)
    pending = await waiting(control, task["taskUUID"])
    await control.fail(task["taskUUID"], "timeoutProvider", "slow")
    status, body = await pending
    assert (status, body["status"], body["error"]["code"], body["error"]["message"]) == (
        200, "error", "timeoutProvider", "slow")


async def test_a_finished_task_answers_at_once(api: MockClient, control: MockClient):
    task = video_task()
    await api.post([task])
    await api.wait_done(task["taskUUID"])
    assert (await control.wait_task(task["taskUUID"], timeout=LONG))["status"] == "success"


async def test_a_task_still_processing_after_the_timeout_is_408_with_the_task(api: MockClient, control: MockClient):
    task = await manual_task(api)
    status, body = await control.request("GET", f"tasks/{task['taskUUID']}/wait", params={"timeout": 0.2})
    assert (status, body["taskUUID"], body["status"], body["policy"]) == (408, task["taskUUID"], "processing", "manual")
    with pytest.raises(ControlError, match="408"):
        await control.wait_task(task["taskUUID"], timeout=0)


async def test_a_wait_is_not_a_poll_so_a_polls_policy_stays_processing(api: MockClient, control: MockClient):
    task = video_task()
    await api.progression("polls:1", task["taskUUID"])
    await api.post([task])
    status, body = await control.request("GET", f"tasks/{task['taskUUID']}/wait", params={"timeout": 0.2})
    assert (status, body["status"], body["polls"]) == (408, "processing", 0)
    pending = await waiting(control, task["taskUUID"])
    _, done = await api.wait_done(task["taskUUID"])  # the client's polls end it, and that wakes the wait
    status, body = await pending
    assert (status, body["status"], done["data"][0]["status"]) == (200, "success", "success")
    assert body["polls"] >= 2


async def test_a_staggered_release_answers_once_every_generation_settled(api: MockClient, control: MockClient):
    task = video_task(numberResults=2)
    await api.results("staggered", task["taskUUID"])
    await api.post([task])
    pending = await waiting(control, task["taskUUID"])
    _, done = await api.wait_done(task["taskUUID"])  # each poll of the due job settles one more generation
    status, body = await pending
    assert (status, body["status"], [g["status"] for g in body["generations"]]) == (200, "success", ["success"] * 2)
    assert [item["videoUUID"] for item in body["results"]] == [item["videoUUID"] for item in done["data"]]


async def test_a_seconds_policy_on_the_virtual_clock_answers_when_time_is_advanced(make_server, http):
    server = await make_server(virtual_clock=True, progression="seconds:30")
    api = MockClient(server.base_url, KEY, session=http)
    task = video_task()
    await api.post([task])
    pending = await waiting(api, task["taskUUID"])
    await api.call("POST", "clock/advance", {"seconds": 30})
    status, body = await pending
    assert (status, body["status"]) == (200, "success")


async def test_resetting_the_namespace_answers_the_wait_404(api: MockClient, control: MockClient):
    task = await manual_task(api)
    pending = await waiting(control, task["taskUUID"])
    await control.reset()
    status, body = await pending
    assert (status, body["errors"][0]["code"]) == (404, "controlResourceNotFound")
    assert "forgotten" in body["errors"][0]["message"]


async def test_the_admin_view_waits_on_the_task_of_whichever_key(api: MockClient, control: MockClient):
    task = await manual_task(api)
    admin = control.as_key(None)
    pending = await waiting(admin, task["taskUUID"])
    await control.complete(task["taskUUID"])
    status, body = await pending
    assert (status, body["namespace"], body["status"]) == (200, api.api_key, "success")


@pytest.mark.parametrize(("timeout", "message"), [
    ("soon", "timeout must be a number."),
    ("nan", "timeout must be finite."),
    ("inf", "timeout must be finite."),
    ("-1", "timeout must be within 0..300."),
    ("301", "timeout must be within 0..300."),
])
async def test_a_bad_timeout_is_a_clear_400(api: MockClient, control: MockClient, timeout, message):
    task = await manual_task(api)
    status, body = await control.request("GET", f"tasks/{task['taskUUID']}/wait", params={"timeout": timeout})
    assert (status, body["errors"][0]["code"], body["errors"][0]["message"]) == (400, "invalidControlRequest", message)


def test_the_openapi_document_describes_the_wait():
    operation = openapi_document()["paths"]["/__mock/tasks/{taskUUID}/wait"]["get"]
    assert set(operation["responses"]) == {"200", "400", "401", "404", "408"}
    assert operation["responses"]["408"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Task"}
    timeout = next(p for p in operation["parameters"] if p.get("name") == "timeout")
    assert (timeout["in"], timeout["schema"]["minimum"], timeout["schema"]["maximum"]) == ("query", 0, 300)


async def test_a_server_shutting_down_ends_the_wait_with_408(make_server, http):
    server = await make_server()
    api = MockClient(server.base_url, KEY, session=http)
    task = await manual_task(api)
    pending = await waiting(api, task["taskUUID"])
    await server.stop()  # aiohttp awaits open requests after on_shutdown: a wait still held would stall this
    status, body = await pending
    assert (status, body["status"]) == (408, "processing")

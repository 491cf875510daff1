"""How-to: make the mock misbehave (faults, scenarios), control when tasks finish (progression),
and wait for webhooks, all scoped to this test's API key."""

import asyncio
import json
import urllib.error
import urllib.request
import uuid

from aiohttp import web


def task(**fields) -> dict:
    return {"taskType": "videoInference", "taskUUID": str(uuid.uuid4()), "model": "alibaba:wan@2.7",
            "positivePrompt": "rain on a window", "width": 1280, "height": 720, "duration": 2, **fields}


def post(vidmock, tasks) -> tuple[int, dict, dict]:
    request = urllib.request.Request(vidmock.http_url, json.dumps(tasks).encode(),
                                     {"Authorization": f"Bearer {vidmock.api_key}",
                                      "Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def test_howto_inject_a_rate_limit(vidmock):
    vidmock.fault("status", status=429, retryAfter=2, match={"taskType": "videoInference"})
    status, body, headers = post(vidmock, [task()])
    assert status == 429 and headers["Retry-After"] == "2"
    assert body["errors"][0]["code"] == "rateLimitExceeded"
    assert post(vidmock, [task()])[0] == 200  # faults fire once unless times= says otherwise


def test_howto_use_a_named_scenario(vidmock):
    vidmock.scenario("provider-timeout")  # same faults as sending X-Vidmock-Scenario: provider-timeout
    submitted = task()
    post(vidmock, [submitted])
    vidmock.complete(submitted["taskUUID"])
    status, body, _ = post(vidmock, [{"taskType": "getResponse", "taskUUID": submitted["taskUUID"]}])
    assert body["errors"][0]["code"] == "timeoutProvider"


def test_howto_finish_tasks_by_hand(vidmock):
    vidmock.progression("manual")  # every task of this test waits for complete() or fail()
    first, second = task(), task()
    post(vidmock, [first, second])
    poll = lambda t: post(vidmock, [{"taskType": "getResponse", "taskUUID": t["taskUUID"]}])[1]  # noqa: E731
    assert poll(first)["data"][0]["status"] == "processing"

    vidmock.complete(first["taskUUID"])
    vidmock.fail(second["taskUUID"], "providerError")
    assert poll(first)["data"][0]["status"] == "success"
    assert poll(second)["errors"][0]["code"] == "providerError"


async def test_howto_wait_for_a_webhook(vidmock, aiohttp_server):
    received = []

    async def hook(request):
        received.append(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    receiver = await aiohttp_server(app, host="127.0.0.1")
    submitted = task(webhookURL=str(receiver.make_url("/hook")))
    post(vidmock, [submitted])

    # The helpers block: from an async test whose receiver runs on the test's own loop, call them in
    # a thread so the receiver can answer meanwhile.
    records = await asyncio.to_thread(vidmock.wait_for_deliveries, submitted["taskUUID"], kind="webhook", timeout=30)
    assert records[0]["state"] == "delivered"
    assert received[0]["data"][0]["taskUUID"] == submitted["taskUUID"]
    await asyncio.to_thread(vidmock.assert_conforms, rules=["VM009"])  # answered 2xx, promptly

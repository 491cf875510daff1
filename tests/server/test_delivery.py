"""Webhook POSTs and uploadEndpoint PUTs: payloads, retries, safety, behaviours and the wait API.

Every receiver is a real aiohttp app on 127.0.0.1; tests wait for deliveries through the engine's
wait API (or its HTTP long-poll), never by sleeping.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import dataclass

import jsonschema
import pytest
from aiohttp import web

from conformance.client import MockClient
from conftest import new_uuid, video_task
from mockserver.config import load_config
from mockserver.contract import response_schema
from mockserver.delivery.engine import DeliveryEngine, DeliveryWaitTimeout, RetryPolicy, WebhookBehaviour
from mockserver.state import DELIVERY, JOBS

KEY = "test-key"
PRESIGNED = "/bucket/video.mp4?X-Amz-Credential=AKIA%2F2024%2Fus&X-Amz-Signature=ab%3D%2Bc"
SEED = 7
SLACK = 0.005  # timer granularity: asyncio's monotonic sleeps against the records' wall-clock stamps  # one seed for every task: renders are synthesizer-cache hits after the first


# -- receivers ---------------------------------------------------------------------------------

@dataclass
class Received:
    method: str
    path: str
    raw_path: str  # path and query exactly as sent
    headers: dict
    body: bytes
    at: float  # perf_counter


class Receiver:
    """An HTTP endpoint that records every request and answers from a script (then 200).

    A script entry is a status code, or a callable ``request -> web.Response`` (e.g. a redirect).
    ``hold`` makes every answer that many seconds late (a slow receiver).
    """

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: list = []
        self.hold = 0.0
        self.base_url = ""

    def url(self, path: str = "/hook") -> str:
        return self.base_url + path

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(Received(request.method, request.path, request.raw_path, dict(request.headers), body,
                                      time.perf_counter()))
        if self.hold:
            await asyncio.sleep(self.hold)
        answer = self.script.pop(0) if self.script else 200
        return answer(request) if callable(answer) else web.Response(status=answer)


@pytest.fixture
async def make_receiver():
    runners: list[web.AppRunner] = []

    async def make() -> Receiver:
        receiver = Receiver()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", receiver.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        receiver.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        runners.append(runner)
        return receiver

    yield make
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def receiver(make_receiver) -> Receiver:
    return await make_receiver()


@pytest.fixture
def closed_port_url() -> str:
    """A URL nobody listens on: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


@pytest.fixture
def delivering(make_server, http):
    """``await delivering(**settings) -> (server, api)`` with tiny backoffs, so retries are quick."""

    async def make(**settings):
        settings = {"delivery_attempts": 3, "delivery_backoff": 0.05, "delivery_timeout": 5, **settings}
        server = await make_server(**settings)
        return server, MockClient(server.base_url, KEY, session=http)

    return make


async def submit_and_finish(api: MockClient, **fields) -> tuple[dict, dict]:
    """Submit a task, poll it to its end; (the task, its getResponse body)."""
    task = video_task(seed=SEED, **fields)
    status, ack = await api.post([task])
    assert status == 200, ack
    _, body = await api.wait_done(task["taskUUID"])
    return task, body


def redirect(status: int, location: str) -> web.Response:
    return web.Response(status=status, headers={"Location": location})


def engine_of(server) -> DeliveryEngine:
    return server.app[DELIVERY]


def spy_long_polls(engine: DeliveryEngine, monkeypatch) -> asyncio.Event:
    """An event set when a long poll of the wait route reaches the engine: the test then knows the
    poll is parked, without sleeping."""
    arrived, real_wait_for = asyncio.Event(), engine.wait_for

    async def spied_wait_for(*args, **kwargs):
        arrived.set()
        return await real_wait_for(*args, **kwargs)

    monkeypatch.setattr(engine, "wait_for", spied_wait_for)
    return arrived


def started_at(record) -> list[float]:
    return [attempt.started_at for attempt in record.attempts]


# -- webhooks ----------------------------------------------------------------------------------

async def test_webhook_posts_the_get_response_item_as_json(delivering, receiver):
    server, api = await delivering()
    task, body = await submit_and_finish(api, webhookURL=receiver.url("/hook?token=abc"))
    [record] = await engine_of(server).wait_for(KEY, task["taskUUID"], "webhook")

    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", "/hook")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("vidmock/")
    payload = json.loads(request.body)
    assert payload == {"data": [body["data"][0]]}
    jsonschema.validate(payload, response_schema("webhook"))
    assert record.state == "delivered" and record.url.endswith("/hook?token=abc")
    assert record.size == len(request.body) and record.payload == payload
    assert [(a.status, a.error) for a in record.attempts] == [(200, None)]


async def test_receiver_500_then_200_is_retried_and_both_attempts_recorded(delivering, receiver):
    server, api = await delivering()
    receiver.script = [500]
    task, _ = await submit_and_finish(api, webhookURL=receiver.url())
    [record] = await engine_of(server).wait_for(KEY, task["taskUUID"], "webhook")
    assert record.state == "delivered"
    assert [(a.number, a.status, a.error) for a in record.attempts] == [(1, 500, "HTTP 500"), (2, 200, None)]
    assert len(receiver.requests) == 2 and receiver.requests[0].body == receiver.requests[1].body


async def test_receiver_down_fails_after_every_attempt_with_growing_backoff(delivering, closed_port_url):
    server, api = await delivering(delivery_attempts=4, delivery_backoff=0.1, delivery_backoff_max=0.15)
    task, body = await submit_and_finish(api, webhookURL=closed_port_url)
    [record] = await engine_of(server).wait_for(KEY, task["taskUUID"], "webhook")
    assert record.state == "failed" and "4 attempt(s) failed" in record.reason
    assert [a.status for a in record.attempts] == [None] * 4
    assert all(a.error.startswith("cannot connect") for a in record.attempts)
    gaps = [later - earlier for earlier, later in zip(started_at(record), started_at(record)[1:])]
    assert gaps[0] >= 0.1 - SLACK and gaps[1] >= 0.15 - SLACK and gaps[2] >= 0.15 - SLACK  # 0.1, 0.2 capped
    assert body["data"][0]["status"] == "success"  # the task never depends on its deliveries


async def test_slow_receiver_times_out_each_attempt(delivering, receiver):
    server, api = await delivering(delivery_attempts=2, delivery_timeout=0.3)
    receiver.hold = 5
    task, _ = await submit_and_finish(api, webhookURL=receiver.url())
    [record] = await engine_of(server).wait_for(KEY, task["taskUUID"], "webhook")
    assert record.state == "failed"
    # Each attempt ended at its timeout, not with the receiver's answer (held 5 s): none has a status.
    assert [(a.status, a.error) for a in record.attempts] == [(None, "no answer within 0.3 s")] * 2
    assert all(a.latency_ms >= 300 for a in record.attempts)


async def test_three_results_give_three_webhooks_with_distinct_videos(delivering, receiver):
    server, api = await delivering()
    task, body = await submit_and_finish(api, webhookURL=receiver.url(), numberResults=3)
    records = await engine_of(server).wait_for(KEY, task["taskUUID"], "webhook", count=3)
    posted = [json.loads(request.body)["data"] for request in receiver.requests]
    assert all(len(items) == 1 for items in posted)
    assert [items[0] for items in posted] == body["data"]  # in result order, one POST each
    assert len({items[0]["videoUUID"] for items in posted}) == 3
    assert [record.video_uuid for record in records] == [item["videoUUID"] for item in body["data"]]


async def test_failed_task_posts_its_error_item(delivering, receiver):
    server, api = await delivering(progression="manual")
    task = video_task(seed=SEED, webhookURL=receiver.url())
    await api.post([task])
    server.app[JOBS].fail(KEY, task["taskUUID"], "providerError", "The provider failed.")
    [record] = await engine_of(server).wait_for(KEY, task["taskUUID"], "webhook")
    _, body = await api.poll(task["taskUUID"])

    payload = json.loads(receiver.requests[0].body)
    assert payload == {"errors": with_task_type(body["errors"])} and record.video_uuid is None
    assert payload == {"errors": [{  # the webhook body as before the live envelope: it keeps taskType, has no data
        "code": "providerError", "message": "The provider failed.", "status": "error",
        "documentation": "https://runware.ai/docs/models/alibaba-wan2-7", "taskType": "videoInference",
        "taskUUID": task["taskUUID"]}]}
    jsonschema.validate(payload, response_schema("webhook"))


def with_task_type(errors: list[dict]) -> list[dict]:
    """getResponse's error items as a webhook carries them: with taskType, which the live
    envelope dropped from replies (no captured reply item has it) but webhooks keep."""
    return [{**error, "taskType": "videoInference"} for error in errors]


async def test_a_failed_generation_gets_its_own_error_webhook_and_no_upload(delivering, make_receiver):
    """One webhook per generation, in generation order; the failed one's body is its errors[] item."""
    server, api = await delivering()
    bucket, hook = await make_receiver(), await make_receiver()
    task_uuid = new_uuid()
    await api.fault("taskError", generations=[1], match={"taskUUID": task_uuid})
    task, body = await submit_and_finish(api, taskUUID=task_uuid, numberResults=3, webhookURL=hook.url(),
                                         uploadEndpoint=bucket.url())
    records = await engine_of(server).wait_for(KEY, task_uuid, count=5)
    assert [(r.kind, r.generation, r.state) for r in records] == [
        ("upload", 0, "delivered"), ("upload", 2, "delivered"),
        ("webhook", 0, "delivered"), ("webhook", 1, "delivered"), ("webhook", 2, "delivered")]
    posted = [json.loads(request.body) for request in hook.requests]
    assert posted == [{"data": [body["data"][0]]}, {"errors": with_task_type(body["errors"])}, {"data": [body["data"][1]]}]
    for payload in posted:
        jsonschema.validate(payload, response_schema("webhook"))
    assert [r.video_uuid for r in records] == [body["data"][0]["videoUUID"], body["data"][1]["videoUUID"],
                                              body["data"][0]["videoUUID"], None, body["data"][1]["videoUUID"]]
    assert [request.method for request in bucket.requests] == ["PUT", "PUT"]
    listed = await api.deliveries(taskUUID=task_uuid, kind="webhook")
    assert [(d["generation"], d["videoUUID"]) for d in listed] == [(r.generation, r.video_uuid) for r in records[2:]]


async def test_a_task_that_fails_as_a_whole_gets_one_webhook_without_a_generation(delivering, receiver):
    server, api = await delivering()
    task_uuid = new_uuid()
    await api.fault("taskError", match={"taskUUID": task_uuid})
    task, body = await submit_and_finish(api, taskUUID=task_uuid, numberResults=3, webhookURL=receiver.url())
    [record] = await engine_of(server).wait_for(KEY, task_uuid, "webhook")
    assert (record.generation, record.video_uuid, record.payload) == (None, None, {"errors": with_task_type(body["errors"])})
    assert len(body["errors"]) == 1 and len(receiver.requests) == 1


async def test_reorder_sends_a_failed_generations_webhook_in_its_place(delivering, receiver):
    server, api = await delivering()
    task_uuid = new_uuid()
    engine_of(server).behaviours.set_task(KEY, task_uuid, WebhookBehaviour(reorder=True))
    await api.fault("taskError", generations=[0], match={"taskUUID": task_uuid})
    task, body = await submit_and_finish(api, taskUUID=task_uuid, webhookURL=receiver.url(), numberResults=2)
    records = await engine_of(server).wait_for(KEY, task_uuid, "webhook", count=2)
    assert [r.generation for r in records] == [1, 0]
    assert [json.loads(request.body) for request in receiver.requests] == [{"data": body["data"]},
                                                                           {"errors": with_task_type(body["errors"])}]


# -- uploads -----------------------------------------------------------------------------------

@pytest.mark.parametrize("output_format, content_type", [("MP4", "video/mp4"), ("WEBM", "video/webm"),
                                                          ("MOV", "video/quicktime")])
async def test_upload_puts_the_served_video_bytes(delivering, receiver, output_format, content_type):
    server, api = await delivering()
    task, body = await submit_and_finish(api, uploadEndpoint=receiver.url(PRESIGNED),
                                         outputFormat=output_format)
    [record] = await engine_of(server).wait_for(KEY, task["taskUUID"], "upload")
    item = body["data"][0]
    _, _, served = await api.get(item["videoURL"])

    [request] = receiver.requests
    assert (request.method, request.raw_path) == ("PUT", PRESIGNED)
    assert request.body == served
    assert request.headers["Content-Type"] == content_type
    assert request.headers["Content-Length"] == str(len(served)) and "Transfer-Encoding" not in request.headers
    assert record.state == "delivered" and record.size == len(served) and record.video_uuid == item["videoUUID"]
    assert "payload" not in record.to_json()  # the log never holds video bytes


async def test_upload_comes_before_the_webhook(delivering, make_receiver):
    server, api = await delivering()
    bucket, hook = await make_receiver(), await make_receiver()
    task, _ = await submit_and_finish(api, uploadEndpoint=bucket.url(), webhookURL=hook.url())
    records = await engine_of(server).wait_for(KEY, task["taskUUID"], count=2)
    assert [record.kind for record in records] == ["upload", "webhook"]
    assert bucket.requests[0].at < hook.requests[0].at
    assert records[0].finished_at <= records[1].attempts[0].started_at


async def test_every_put_failing_leaves_the_task_a_success(delivering, closed_port_url, receiver):
    server, api = await delivering(delivery_attempts=2)
    task, _ = await submit_and_finish(api, uploadEndpoint=closed_port_url, webhookURL=receiver.url())
    upload, webhook = await engine_of(server).wait_for(KEY, task["taskUUID"], count=2)
    assert (upload.kind, upload.state, len(upload.attempts)) == ("upload", "failed", 2)
    assert webhook.state == "delivered"  # the webhook still goes out, after the upload gave up
    _, body = await api.poll(task["taskUUID"])
    assert body["data"][0]["status"] == "success" and body["data"][0]["videoURL"]


# -- safety ------------------------------------------------------------------------------------

async def test_redirect_is_not_followed_and_its_location_is_recorded(delivering, receiver):
    server, api = await delivering(delivery_attempts=2)
    receiver.script = [lambda request: redirect(302, "/elsewhere")] * 2
    task, _ = await submit_and_finish(api, webhookURL=receiver.url())
    [record] = await engine_of(server).wait_for(KEY, task["taskUUID"], "webhook")
    assert record.state == "failed"
    assert [(a.status, a.location) for a in record.attempts] == [(302, "/elsewhere")] * 2
    assert {request.path for request in receiver.requests} == {"/hook"}


async def test_same_host_redirect_is_followed_when_enabled(delivering, receiver):
    server, api = await delivering(delivery_follow_redirects=True)
    receiver.script = [lambda request: redirect(307, "/moved")]
    task, _ = await submit_and_finish(api, webhookURL=receiver.url())
    [record] = await engine_of(server).wait_for(KEY, task["taskUUID"], "webhook")
    assert record.state == "delivered" and record.attempts[0].redirects == [receiver.url("/moved")]
    assert [(r.method, r.path) for r in receiver.requests] == [("POST", "/hook"), ("POST", "/moved")]


async def test_host_outside_the_allowlist_is_refused_without_sending(delivering, receiver):
    server, api = await delivering(delivery_allow_hosts=("hooks.example.test",))
    task, body = await submit_and_finish(api, webhookURL=receiver.url(), uploadEndpoint=receiver.url("/put"))
    records = await engine_of(server).wait_for(KEY, task["taskUUID"], count=2)
    assert {(r.kind, r.state) for r in records} == {("upload", "refused"), ("webhook", "refused")}
    assert all("not in the delivery allowlist" in r.reason and not r.attempts for r in records)
    assert receiver.requests == [] and body["data"][0]["status"] == "success"


# -- behaviours --------------------------------------------------------------------------------

async def test_delay_holds_back_the_first_attempt(delivering, receiver):
    server, api = await delivering()
    engine_of(server).behaviours.set_namespace(KEY, WebhookBehaviour(delay=0.4))
    task, _ = await submit_and_finish(api, webhookURL=receiver.url())
    [record] = await engine_of(server).wait_for(KEY, task["taskUUID"], "webhook")
    assert record.attempts[0].started_at - record.created_at >= 0.4 - SLACK


async def test_duplicate_delivers_each_webhook_twice(delivering, receiver):
    server, api = await delivering()
    engine_of(server).behaviours.set_namespace(KEY, WebhookBehaviour(duplicate=True))
    task, _ = await submit_and_finish(api, webhookURL=receiver.url())
    first, copy = await engine_of(server).wait_for(KEY, task["taskUUID"], "webhook", count=2)
    assert copy.duplicate_of == first.id and copy.payload == first.payload
    assert len(receiver.requests) == 2 and receiver.requests[0].body == receiver.requests[1].body


async def test_reorder_sends_a_tasks_webhooks_last_result_first(delivering, receiver):
    server, api = await delivering()
    task_uuid = new_uuid()
    engine_of(server).behaviours.set_task(KEY, task_uuid, WebhookBehaviour(reorder=True))
    task, body = await submit_and_finish(api, taskUUID=task_uuid, webhookURL=receiver.url(), numberResults=3)
    await engine_of(server).wait_for(KEY, task["taskUUID"], "webhook", count=3)
    arrived = [json.loads(request.body)["data"][0]["videoUUID"] for request in receiver.requests]
    assert arrived == [item["videoUUID"] for item in reversed(body["data"])]


def test_task_behaviour_wins_over_namespace_and_clear_restores():
    engine = DeliveryEngine(media=None)
    engine.behaviours.set_namespace("ns", WebhookBehaviour(duplicate=True))
    engine.behaviours.set_task("ns", "task-1", WebhookBehaviour(delay=2))
    assert engine.behaviours.get("ns", "task-1") == WebhookBehaviour(delay=2)
    assert engine.behaviours.get("ns", "task-2") == WebhookBehaviour(duplicate=True)
    assert engine.behaviours.get("other", "task-1") == WebhookBehaviour()
    engine.behaviours.set_task("ns", "task-1", None)
    assert engine.behaviours.get("ns", "task-1") == WebhookBehaviour(duplicate=True)
    engine.reset("ns")
    assert engine.behaviours.get("ns", "task-2") == WebhookBehaviour()


def test_backoff_doubles_up_to_its_cap():
    policy = RetryPolicy(attempts=6, backoff=1, backoff_max=5)
    assert [policy.delay_before(n) for n in range(1, 7)] == [0, 1, 2, 4, 5, 5]


# -- inspection and waiting --------------------------------------------------------------------

async def test_wait_endpoint_returns_as_soon_as_delivered(delivering, receiver, monkeypatch):
    """The long poll is parked before the task completes, with the route's longest timeout (300 s,
    the suite's per-test timeout too): only the delivery can end it with a 200."""
    server, api = await delivering(progression="manual")
    task = video_task(seed=SEED, webhookURL=receiver.url())
    await api.post([task])
    long_poll_arrived = spy_long_polls(engine_of(server), monkeypatch)
    url = f"{server.base_url}/__mock/deliveries/wait?taskUUID={task['taskUUID']}&kind=webhook&timeout=300"
    waiting = asyncio.ensure_future(api.get(url, headers={"Authorization": f"Bearer {KEY}"}))
    await long_poll_arrived.wait()
    assert not waiting.done()
    await server.app[JOBS].complete(KEY, task["taskUUID"])
    status, _, raw = await waiting
    [record] = json.loads(raw)["deliveries"]
    assert status == 200 and record["state"] == "delivered" and record["attempts"][0]["status"] == 200


async def test_wait_endpoint_is_408_with_what_exists_after_the_timeout(delivering, closed_port_url):
    server, api = await delivering(delivery_attempts=5, delivery_backoff=30)
    task, _ = await submit_and_finish(api, webhookURL=closed_port_url)
    url = f"{server.base_url}/__mock/deliveries/wait?taskUUID={task['taskUUID']}&timeout=0.3"
    status, _, raw = await api.get(url)
    [record] = json.loads(raw)["deliveries"]
    assert status == 408 and record["state"] == "pending" and record["taskUUID"] == task["taskUUID"]
    with pytest.raises(DeliveryWaitTimeout) as timed_out:
        await engine_of(server).wait_for(KEY, task["taskUUID"], timeout=0.05)
    assert [r.id for r in timed_out.value.records] == [record["id"]]


async def test_deliveries_listing_is_scoped_by_bearer_key(delivering, receiver, closed_port_url):
    server, api = await delivering(delivery_attempts=1)
    mine, _ = await submit_and_finish(api, webhookURL=receiver.url())
    theirs, _ = await submit_and_finish(api.as_key("other-key"), webhookURL=closed_port_url)
    await engine_of(server).wait_for(KEY, mine["taskUUID"])
    await engine_of(server).wait_for("other-key", theirs["taskUUID"])

    async def listing(query: str = "", key: str | None = KEY) -> tuple[int, list]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        status, _, raw = await api.get(f"{server.base_url}/__mock/deliveries{query}", headers=headers)
        return status, json.loads(raw).get("deliveries", [])

    assert [r["taskUUID"] for r in (await listing())[1]] == [mine["taskUUID"]]
    assert [r["taskUUID"] for r in (await listing(key="other-key"))[1]] == [theirs["taskUUID"]]
    assert len((await listing(key=None))[1]) == 2
    assert (await listing("?state=failed", key=None))[1][0]["namespace"] == "other-key"
    assert (await listing(f"?taskUUID={theirs['taskUUID']}"))[1] == []
    assert (await listing("?kind=upload"))[1] == []
    assert [r["taskUUID"] for r in (await listing("?apiKey=other-key", key=None))[1]] == [theirs["taskUUID"]]
    status, _, raw = await api.get(f"{server.base_url}/__mock/deliveries?kind=fax")
    error = json.loads(raw)["errors"][0]
    assert (status, error["code"]) == (400, "invalidControlRequest") and "webhook, upload" in error["message"]


async def test_reset_forgets_only_that_namespace(delivering, receiver):
    server, api = await delivering()
    mine, _ = await submit_and_finish(api, webhookURL=receiver.url())
    theirs, _ = await submit_and_finish(api.as_key("other-key"), webhookURL=receiver.url())
    engine = engine_of(server)
    await engine.wait_for(KEY, mine["taskUUID"])
    await engine.wait_for("other-key", theirs["taskUUID"])
    engine.reset(KEY)
    assert engine.records(KEY) == [] and len(engine.records("other-key")) == 1


async def test_delivery_log_keeps_only_the_newest_records(delivering, receiver):
    server, api = await delivering(delivery_log_size=2)
    engine_of(server).behaviours.set_namespace(KEY, WebhookBehaviour(duplicate=True))
    first, _ = await submit_and_finish(api, webhookURL=receiver.url())
    await engine_of(server).wait_for(KEY, first["taskUUID"], count=2)
    second, _ = await submit_and_finish(api, webhookURL=receiver.url())
    await engine_of(server).wait_for(KEY, second["taskUUID"], count=2)
    assert {record.task_uuid for record in engine_of(server).records()} == {second["taskUUID"]}


async def test_shutdown_cancels_pending_deliveries_and_ends_long_polls(delivering, closed_port_url, monkeypatch):
    server, api = await delivering(delivery_attempts=5, delivery_backoff=30)
    task, _ = await submit_and_finish(api, webhookURL=closed_port_url)
    long_poll_arrived = spy_long_polls(engine_of(server), monkeypatch)
    # The route's longest timeout, the suite's per-test timeout too: only the shutdown can end the poll.
    url = f"{server.base_url}/__mock/deliveries/wait?taskUUID={task['taskUUID']}&timeout=300"
    waiting = asyncio.ensure_future(api.get(url))
    await long_poll_arrived.wait()
    await server.stop()
    status, _, _ = await waiting
    assert status == 408
    assert [record.state for record in engine_of(server).records()] == ["pending"]


# -- settings ----------------------------------------------------------------------------------

def test_delivery_settings_come_from_cli_env_and_file(tmp_path):
    file = tmp_path / "vidmock.toml"
    file.write_text('delivery_allow_hosts = ["hooks.test"]\ndelivery_backoff_max = 4\n')
    config = load_config({"delivery_timeout": 2.5},
                         {"VIDMOCK_DELIVERY_ATTEMPTS": "7", "VIDMOCK_DELIVERY_FOLLOW_REDIRECTS": "true"}, file)
    assert (config.delivery_attempts, config.delivery_backoff, config.delivery_backoff_max,
            config.delivery_timeout) == (7, 1.0, 4.0, 2.5)
    assert config.delivery_allow_hosts == ("hooks.test",) and config.delivery_follow_redirects is True
    assert (config.delivery_concurrency, config.delivery_log_size) == (16, 10_000)

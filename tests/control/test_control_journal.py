"""The journal: what it records for REST requests and WebSocket frames, its filters, its bound,
its resets, and its in-process API."""

from __future__ import annotations

import json

import pytest

from conformance.client import MockClient
from conftest import KEY, video_task
from mockserver.control import CONTROL
from mockserver.control.bodies import check


async def test_rest_entry_has_request_reply_and_every_violation(api: MockClient, control: MockClient):
    bad = video_task(width=1000, height=1000, fps=30, seed="x")  # several violations in one task
    good = video_task()
    status, body = await api.post([good, bad])
    assert status == 200 and len(body["errors"]) == 1
    [entry] = await control.journal()
    assert (entry["transport"], entry["direction"], entry["method"], entry["path"]) == ("rest", "in", "POST", "/v1")
    assert entry["namespace"] == api.api_key and entry["remote"] == "127.0.0.1"
    assert entry["headers"]["Authorization"] == "<redacted>"
    assert [t["taskUUID"] for t in entry["tasks"]] == [good["taskUUID"], bad["taskUUID"]]
    assert entry["valid"] is False
    [violation] = entry["violations"]
    assert violation["taskIndex"] == 1 and violation["taskUUID"] == bad["taskUUID"]
    codes = [error["code"] for error in violation["errors"]]
    assert len(codes) >= 2 and codes[0] == body["errors"][0]["code"] and "unsupportedParameter" in codes
    assert entry["response"]["status"] == 200 and entry["response"]["body"] == body
    assert entry["durationMs"] > 0 and entry["receivedWall"] > 1.7e9


async def test_undecodable_body_is_journalled_with_its_error(api: MockClient, control: MockClient):
    status, body = await api.post(raw=b"{not json")
    [entry] = await control.journal()
    assert status == 400 and entry["tasks"] is None and entry["valid"] is False
    assert entry["response"]["body"]["errors"][0]["code"] == "invalidRequestBody"


async def test_ws_frames_are_journalled(server, http, control: MockClient):
    async with http.ws_connect(f"{server.base_url}/v1") as ws:
        await ws.send_json([{"taskType": "authentication", "apiKey": "test-key"}])
        await ws.receive_json()
        await ws.send_str("garbage")
        await ws.receive_json()
        task = video_task()
        await ws.send_json([task])
        await ws.receive_json()
    entries = await control.journal(transport="ws")
    assert [e["namespace"] for e in entries] == ["test-key"] * 3
    auth, garbage, submit = entries
    assert auth["tasks"][0]["apiKey"] == "<redacted>"
    assert auth["response"]["body"]["data"][0]["taskType"] == "authentication"
    assert garbage["rawBody"] == "garbage" and garbage["tasks"] is None
    assert submit["tasks"][0]["taskUUID"] == task["taskUUID"] and submit["valid"] is True


async def test_filters(api: MockClient, control: MockClient, server):
    first, second = video_task(), video_task()
    await api.post([first])
    middle = server.app[CONTROL].clock.now()
    await api.post([second])
    await api.poll(second["taskUUID"])
    assert len(await control.journal(taskUUID=second["taskUUID"])) == 2  # request and reply items both count
    assert [e["tasks"][0]["taskUUID"] for e in await control.journal(until=middle)] == [first["taskUUID"]]
    assert len(await control.journal(since=middle)) == 2
    assert len(await control.journal(limit=1)) == 1
    assert await control.journal(transport="ws") == []
    status, body = await control.request("GET", "journal", params={"transport": "smoke"})
    assert status == 400 and body["errors"][0]["code"] == "invalidControlRequest"


async def test_admin_view_and_namespaced_delete(server, api: MockClient, control: MockClient):
    """Every key's journal: on a server of its own."""
    await api.post([video_task()])
    await api.as_key("other").post([video_task()])
    admin = control.as_key(None)
    assert {e["namespace"] for e in await admin.journal()} == {"test-key", "other"}
    assert await control.call("DELETE", "journal") == {"deleted": 1}
    assert {e["namespace"] for e in await admin.journal()} == {"other"}
    assert len(await admin.journal(apiKey="other")) == 1  # ?apiKey= selects too


async def test_journal_is_a_bounded_ring(make_server, http):
    server = await make_server(journal_size=3)
    api = MockClient(server.base_url, KEY, session=http)
    for _ in range(5):
        await api.post([{"taskType": "ping"}])
    entries = await MockClient(server.base_url, KEY, session=http).journal()
    assert [e["id"] for e in entries] == [3, 4, 5]


async def test_long_strings_are_abbreviated(api: MockClient, control: MockClient):
    await api.post([{"taskType": "imageUpload", "taskUUID": video_task()["taskUUID"], "image": "A" * 10_000}])
    [entry] = await control.journal()
    assert len(json.dumps(entry["tasks"])) < 1000 and "10000 characters" in entry["tasks"][0]["image"]


@pytest.mark.parametrize("prompt", ["short", "p" * 3000], ids=["small body", "large body"])
async def test_tasks_are_journalled_as_sent_without_the_defaults_filled_in(api: MockClient, control: MockClient, prompt):
    task = video_task(positivePrompt=prompt)
    status, _ = await api.post([task])
    assert status == 200
    [entry] = await control.journal()
    sent = entry["tasks"][0]
    assert "numberResults" not in sent and "outputFormat" not in sent and "settings" not in sent
    expected_prompt = prompt if len(prompt) <= 2048 else f"{prompt[:64]}...<3000 characters>"
    assert sent == {**task, "positivePrompt": expected_prompt}


async def test_hostile_nesting_is_cut(api: MockClient, control: MockClient):
    deep: list = []
    for _ in range(400):
        deep = [deep]
    status, _ = await api.post([video_task(inputs=deep, taskUUID=deep)])
    assert status == 400
    [entry] = await control.journal()
    assert "nested deeper than" in json.dumps(entry["tasks"]) and entry["valid"] is False


async def test_in_process_api(api: MockClient, server):
    task = video_task()
    await api.post([task], headers={"X-Vidmock-Scenario": "rate-limit-once"})
    await api.post([task])
    journal = server.app[CONTROL].journal
    entries = journal.entries(namespace="test-key", task_uuid=task["taskUUID"])
    assert [(e.response_status, e.retry_after, e.valid) for e in entries] == [(429, "1", True), (200, None, True)]
    assert entries[0].task_types() == ["videoInference"] and task["taskUUID"] in entries[1].task_uuids
    assert entries[0].received_at <= entries[1].received_at and entries[0].scenarios == ["rate-limit-once"]


async def test_every_kind_of_entry_fits_the_journal_schema(server, api: MockClient, control: MockClient, http):
    """schemas/control/control.json's Journal (JournalEntry) holds for what the journal serves: REST,
    a dry run, an unreadable body, WebSocket frames."""
    await api.post([video_task()])
    await api.post([video_task()], headers={"X-Runware-Dry-Run": "1"})
    await api.post(raw=b"{not json")
    async with http.ws_connect(api.ws_url + "?dryRun=1") as ws:
        await ws.send_str(json.dumps([{"taskType": "authentication", "apiKey": KEY}]))
        await ws.receive(timeout=10)
        await ws.send_str(json.dumps([video_task()]))
        await ws.receive(timeout=10)
    journal = await control.call("GET", "journal")
    check("Journal", journal)
    assert [entry["dryRun"] for entry in journal["entries"]] == [False, True, False, True, True]

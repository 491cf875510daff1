"""Every exchange of the API leaves exactly one journal entry, whatever became of it: each path
below is taken once over a real socket, then the whole journal is read (the keyless admin view,
which also shows the requests that carried no key)."""

from __future__ import annotations

import json

import pytest

from conformance.client import MockClient
from conftest import KEY, video_task


@pytest.fixture
def admin(server, http) -> MockClient:
    """The journal as a listing made without a key shows it: every entry, keyless ones included."""
    return MockClient(server.base_url, None, session=http)


def shown(entry: dict) -> tuple:
    body = entry["response"]["body"]
    codes = [error["code"] for error in body.get("errors", [])] if isinstance(body, dict) else []
    return entry["transport"], entry["method"], entry["path"], entry["namespace"], entry["response"]["status"], codes


async def test_a_post_whatever_its_outcome_is_one_entry(api: MockClient, admin: MockClient):
    assert (await api.post([video_task()]))[0] == 200
    keyless = MockClient(api.base_url, None, session=api.session)
    assert (await keyless.post([video_task()]))[0] == 401
    assert (await api.post(raw=b"{not json"))[0] == 400
    assert (await api.post([video_task()], headers={"X-Runware-Dry-Run": "1"}))[0] == 200
    await api.call("POST", "faults", {"action": "status", "status": 500})
    assert (await api.post([video_task()]))[0] == 500
    entries = await admin.journal()
    assert [shown(entry) for entry in entries] == [
        ("rest", "POST", "/v1", KEY, 200, []),
        ("rest", "POST", "/v1", None, 401, ["missingApiKey"]),
        ("rest", "POST", "/v1", KEY, 400, ["invalidRequestBody"]),
        ("rest", "POST", "/v1", KEY, 200, []),
        ("rest", "POST", "/v1", KEY, 500, ["internalServerError"]),
    ]
    assert [entry["dryRun"] for entry in entries] == [False, False, False, True, False]
    assert [len(entry["faults"]) for entry in entries] == [0, 0, 0, 0, 1]


async def test_an_oversized_body_is_one_entry(make_server, http):
    server = await make_server(max_body_mb=0.001)
    api = MockClient(server.base_url, KEY, session=http)
    status, body = await api.post([video_task(prompt="x" * 4000)])
    assert status == 413 and body["errors"][0]["code"] == "requestTooLarge"
    [entry] = await api.journal()
    assert shown(entry) == ("rest", "POST", "/v1", KEY, 413, ["requestTooLarge"])


async def test_a_wrong_path_or_method_of_the_api_is_one_entry_each(server, http, admin: MockClient):
    async with http.get(f"{server.base_url}/v2/tasks?x=1", headers={"Authorization": f"Bearer {KEY}"}) as response:
        assert response.status == 404 and (await response.json())["errors"][0]["code"] == "unknownEndpoint"
    async with http.put(f"{server.base_url}/v1", data=b"[]") as response:
        assert response.status == 405 and response.headers["Allow"] == "GET,HEAD,POST"
    async with http.get(f"{server.base_url}/v1") as response:  # no upgrade
        assert response.status == 405 and response.headers["Allow"] == "POST"
    entries = await admin.journal()
    assert [shown(entry) for entry in entries] == [
        ("rest", "GET", "/v2/tasks?x=1", KEY, 404, ["unknownEndpoint"]),
        ("rest", "PUT", "/v1", None, 405, ["methodNotAllowed"]),
        ("rest", "GET", "/v1", None, 405, ["methodNotAllowed"]),
    ]
    assert entries[1]["response"]["headers"]["Allow"] == "GET,HEAD,POST"
    assert entries[0]["headers"]["Authorization"] == "<redacted>"


async def test_the_control_plane_and_media_answer_their_own_404s_unjournalled(server, http, admin: MockClient):
    async with http.get(f"{server.base_url}/__mock/nothing") as response:
        assert response.status == 404 and "data" not in await response.json()
    async with http.get(f"{server.base_url}/media/nothing.mp4") as response:
        assert response.status == 404
    assert await admin.journal() == []


async def test_a_refused_upgrade_is_one_entry(server, http, admin: MockClient):
    async with http.get(f"{server.base_url}/v1?scenario=nope", headers={"Upgrade": "websocket"}) as response:
        assert response.status == 400 and (await response.json())["errors"][0]["code"] == "unsupportedScenario"
    [entry] = await admin.journal()
    assert shown(entry) == ("ws", "GET", "/v1?scenario=nope", None, 400, ["unsupportedScenario"])
    assert entry["scenarios"] == ["nope"]


async def test_each_frame_is_one_entry_and_a_keyless_one_has_no_namespace(server, http, admin: MockClient):
    api = MockClient(server.base_url, KEY, session=http)
    async with http.ws_connect(api.ws_url) as ws:
        await ws.send_json([{"taskType": "ping"}, video_task()])  # before authentication
        before = await ws.receive_json()
        await ws.send_json([{"taskType": "authentication", "apiKey": KEY}])
        session = (await ws.receive_json())["data"][0]["connectionSessionUUID"]
        await ws.send_bytes(b"\x00")
        await ws.receive_json()
        await ws.send_json([{"taskType": "ping"}])
        await ws.receive_json()
    assert before["data"] == [{"taskType": "ping", "pong": True}]
    assert [error["code"] for error in before["errors"]] == ["missingApiKey"]
    entries = await admin.journal()
    assert [(e["transport"], e["method"], e["namespace"], e["response"]["status"]) for e in entries] == [
        ("ws", None, None, None), ("ws", None, KEY, None), ("ws", None, KEY, None), ("ws", None, KEY, None)]
    assert entries[1]["response"]["body"]["data"][0]["connectionSessionUUID"] == session
    assert entries[2]["response"]["body"]["errors"][0]["code"] == "invalidRequestBody"
    assert [entry["namespace"] for entry in await api.journal()] == [KEY] * 3  # a key's listing: its own only


async def test_the_session_a_socket_resumes_is_the_one_the_backend_granted(server, http):
    api = MockClient(server.base_url, KEY, session=http)
    async with http.ws_connect(api.ws_url) as ws:
        await ws.send_json([{"taskType": "authentication", "apiKey": KEY}])
        granted = (await ws.receive_json())["data"][0]["connectionSessionUUID"]
    async with http.ws_connect(api.ws_url) as ws:
        await ws.send_json([{"taskType": "authentication", "apiKey": KEY, "connectionSessionUUID": granted}])
        assert (await ws.receive_json())["data"][0]["connectionSessionUUID"] == granted
    assert json.dumps((await api.call("GET", "health"))["websocket"]["resumed_sessions"]) == "1"

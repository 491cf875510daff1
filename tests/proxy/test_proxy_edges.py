"""The proxy when things go wrong or get interesting: upstream statuses and Retry-After passed
through, an unreachable, silent or non-JSON upstream, a dropped upstream socket resumed through
the proxy, and faults of the proxy's own control plane."""

from __future__ import annotations

import asyncio
import socket as sockets

import aiohttp
import pytest
from aiohttp import web

from conftest import video_task
from conformance.client import MockClient
from proxy_support import PROXY_KEY, Socket, start_proxy, ws_url

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def honest(make_server):
    return await make_server(api_keys=(PROXY_KEY,), progression="polls:2")


@pytest.fixture
async def proxy(honest, tmp_path):
    server = await start_proxy(honest.base_url, tmp_path / "proxy-data")
    yield server
    await server.stop()


async def small_upstream(handler) -> web.AppRunner:
    app = web.Application()
    app.router.add_post("/v1", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


def base_of(runner: web.AppRunner) -> str:
    return f"http://127.0.0.1:{runner.addresses[0][1]}"


async def test_upstream_statuses_bodies_and_retry_after_reach_the_client_unchanged(proxy, honest, http):
    upstream_control = MockClient(honest.base_url, PROXY_KEY, session=http)
    await upstream_control.call("POST", "faults", {"action": "status", "status": 429, "retryAfter": 7})
    task = video_task()
    async with http.post(f"{proxy.base_url}/v1", json=[task], headers={"Authorization": f"Bearer {PROXY_KEY}"}) as got:
        assert got.status == 429 and got.headers["Retry-After"] == "7"
        body = await got.json()
    [entry] = await upstream_control.journal(taskUUID=task["taskUUID"])
    assert body == entry["response"]["body"] and body["errors"][0]["code"] == "rateLimitExceeded"

    status, refused = await MockClient(proxy.base_url, "not-the-key", session=http).post([video_task()])
    assert status == 401 and refused["errors"][0]["code"] == "invalidApiKey"
    drift = await MockClient(proxy.base_url, None, session=http).call("GET", "drift")
    assert drift["findings"] == []


async def test_an_unreachable_upstream_is_a_502_scoped_to_the_task(tmp_path, http):
    with sockets.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    proxy = await start_proxy(f"http://127.0.0.1:{closed_port}", tmp_path / "data")
    try:
        task = video_task()
        status, error = await MockClient(proxy.base_url, PROXY_KEY, session=http).one_error([task])
        assert (status, error["code"], error["taskUUID"]) == (502, "upstreamUnreachable", task["taskUUID"])
        async with http.ws_connect(ws_url(proxy.base_url)) as ws:
            frame = await Socket(ws).authenticate()
            [error] = frame["errors"]
            assert (error["code"], error["taskType"]) == ("upstreamUnreachable", "authentication")
    finally:
        await proxy.stop()


async def test_a_reply_that_is_not_json_is_a_502_and_a_finding(tmp_path, http):
    async def gateway_page(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad gateway</html>", content_type="text/html")

    upstream = await small_upstream(gateway_page)
    proxy = await start_proxy(base_of(upstream), tmp_path / "data")
    try:
        status, error = await MockClient(proxy.base_url, PROXY_KEY, session=http).one_error([video_task()])
        assert (status, error["code"]) == (502, "upstreamInvalidReply") and "<html>Bad gateway" in error["message"]
        drift = await MockClient(proxy.base_url, None, session=http).call("GET", "drift")
        assert [(f["direction"], f["code"]) for f in drift["findings"]] == [("reply", "replyNotJson")]
    finally:
        await proxy.stop()
        await upstream.cleanup()


async def test_a_silent_upstream_is_a_504_after_the_upstream_timeout(tmp_path, http):
    async def silent(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({"data": []})

    upstream = await small_upstream(silent)
    proxy = await start_proxy(base_of(upstream), tmp_path / "data", upstream_timeout=0.3)
    try:
        status, error = await MockClient(proxy.base_url, PROXY_KEY, session=http).one_error([video_task()])
        assert (status, error["code"]) == (504, "upstreamTimeout")
    finally:
        await proxy.stop()
        await upstream.cleanup()


async def test_a_dropped_upstream_socket_is_mirrored_and_resumed_through_the_proxy(proxy, honest, http):
    """The upstream drops its socket right after a getResponse (keeping the reply for a resume):
    the client sees the same close code, resumes its session through the proxy, and gets the
    reply the upstream kept, after the authentication reply."""
    upstream_control = MockClient(honest.base_url, None, session=http)
    task = video_task()
    async with http.ws_connect(ws_url(proxy.base_url)) as ws:
        socket = Socket(ws)
        session = (await socket.authenticate())["data"][0]["connectionSessionUUID"]
        await socket.ask([task])
        await upstream_control.call("POST", "ws/drop", {"apiKey": PROXY_KEY, "how": "close1011", "on": "getResponse"})
        await ws.send_json([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
        closing = await ws.receive(timeout=20)
        assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1011
    async with http.ws_connect(ws_url(proxy.base_url)) as ws:
        socket = Socket(ws)
        resumed = await socket.authenticate(session=session)
        assert resumed == {"data": [{"taskType": "authentication", "connectionSessionUUID": session}]}
        kept = await socket.frame()
        assert kept["data"][0]["taskUUID"] == task["taskUUID"] and kept["data"][0]["status"] == "processing"
        done = await socket.wait_done(task["taskUUID"])
        assert done["data"][0]["status"] == "success"
    assert (await upstream_control.call("GET", "health"))["websocket"]["resumed_sessions"] == 1
    journal = await MockClient(proxy.base_url, None, session=http).journal(transport="ws")
    pushed = [entry for entry in journal if entry["direction"] == "out"]
    assert [entry["response"]["body"] for entry in pushed] == [kept]
    assert pushed[0]["tasks"] is None and pushed[0]["drift"] == []


async def test_the_proxys_own_faults_apply_before_the_upstream_is_asked(proxy, honest, http):
    admin = MockClient(proxy.base_url, None, session=http)
    await admin.call("POST", "faults", {"action": "status", "status": 503, "times": 1})
    task = video_task()
    status, error = await MockClient(proxy.base_url, PROXY_KEY, session=http).one_error([task])
    assert (status, error["code"]) == (503, "serviceUnavailable")
    assert await MockClient(honest.base_url, None, session=http).journal(taskUUID=task["taskUUID"]) == []
    status, _ = await MockClient(proxy.base_url, PROXY_KEY, session=http).post([task])
    assert status == 200  # the fault is spent: this one reached the upstream

"""What the proxy tests share: a proxy started in-process in front of an upstream on 127.0.0.1,
upstreams that drift on purpose (a real vidmock behind a mutator), a replaying vidmock, and a
small WebSocket client.

Every upstream here listens on 127.0.0.1 and tests/conftest.py sets VIDMOCK_OFFLINE=1, so a
proxy started by mistake with Runware's default endpoints refuses to start.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from conformance.client import MockClient
from mockserver.app import RunningServer, start_server
from mockserver.backends.proxy import install_proxy
from mockserver.config import ServerConfig

PROXY_KEY = "sk-live-7f3a9c1e5b2d4a6f8e0c9b7a"  # distinctive, so a leak is found by a plain search


def ws_url(base_url: str) -> str:
    return "ws" + base_url.removeprefix("http") + "/v1"


async def start_proxy(upstream_base: str, data_dir: Path, **settings: Any) -> RunningServer:
    """``vidmock proxy`` in this process, in front of ``upstream_base`` (REST /v1 and WS /v1)."""
    config = ServerConfig(port=0, seed=7, data_dir=data_dir, upstream=f"{upstream_base}/v1",
                          upstream_ws=ws_url(upstream_base), **settings)
    return await start_server(config, backend=lambda app, _mock: install_proxy(app, os.environ))


async def start_replay(recording: Path, data_dir: Path, **settings: Any) -> RunningServer:
    """``vidmock serve --replay recording`` in this process."""
    return await start_server(ServerConfig(port=0, seed=99, data_dir=data_dir, replay=recording, **settings))


# -- upstreams that drift on purpose --------------------------------------------------------------

Mutation = Callable[[list, int, dict], tuple[int, dict]]
"""(the request's tasks, the honest status, the honest body) -> what the drifting upstream says."""


class DriftingUpstream:
    """A real vidmock behind a mutator: REST bodies and WebSocket frames pass through, and every
    reply is changed by ``mutate`` on its way back."""

    def __init__(self, honest_base: str, mutate: Mutation, rewrite: Callable[[list], list] = lambda tasks: tasks) -> None:
        self.honest_base = honest_base
        self.mutate = mutate
        self.rewrite = rewrite  # what the upstream really runs instead of the request
        self.runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> "DriftingUpstream":
        app = web.Application()
        app.router.add_post("/v1", self._post)
        app.router.add_get("/v1", self._socket)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _post(self, request: web.Request) -> web.Response:
        tasks = await request.json()
        headers = {"Authorization": request.headers.get("Authorization", "")}
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{self.honest_base}/v1", json=self.rewrite(tasks), headers=headers) as response:
                status, body = self.mutate(tasks, response.status, await response.json())
        return web.json_response(body, status=status)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        client = web.WebSocketResponse()
        await client.prepare(request)
        last: list = []
        async with aiohttp.ClientSession() as session, session.ws_connect(ws_url(self.honest_base)) as honest:
            async def upstream_to_client() -> None:
                async for message in honest:
                    if message.type is aiohttp.WSMsgType.TEXT:
                        await client.send_json(self.mutate(last, 200, json.loads(message.data))[1])

            pump = asyncio.create_task(upstream_to_client())
            async for message in client:
                if message.type is aiohttp.WSMsgType.TEXT:
                    last[:] = json.loads(message.data)
                    await honest.send_json(self.rewrite(last))
            pump.cancel()
        return client


def _items(body: dict, key: str = "data") -> list[dict]:
    return [item for item in body.get(key) or [] if isinstance(item, dict)]


def extra_ack_field(tasks: list, status: int, body: dict) -> tuple[int, dict]:
    for item in _items(body):
        if item.get("taskType") == "videoInference" and "status" not in item:
            item["queuePosition"] = 3
    return status, body


def missing_video_uuid(tasks: list, status: int, body: dict) -> tuple[int, dict]:
    for item in _items(body):
        if item.get("status") == "success":
            del item["videoUUID"]
    return status, body


def cost_off_the_rates(tasks: list, status: int, body: dict) -> tuple[int, dict]:
    for item in _items(body):
        if item.get("status") == "success" and "cost" in item:
            item["cost"] = round(item["cost"] * 1.5, 6)
    return status, body


def accepts_anything(tasks: list, status: int, body: dict) -> tuple[int, dict]:
    """Acks every submitted task, even those the honest upstream rejects."""
    if body.get("errors") and tasks:
        acks = [{"taskType": task["taskType"], "taskUUID": task["taskUUID"]} for task in tasks
                if task.get("taskType") == "videoInference"]
        if acks:
            return 200, {"data": acks}
    return status, body


def renamed_error_fields(tasks: list, status: int, body: dict) -> tuple[int, dict]:
    """Errors in an older shape: errorCode / errorMessage instead of code / message."""
    if "errors" in body:
        body["errors"] = [{"errorCode": error.get("code"), "errorMessage": error.get("message"),
                           "taskUUID": error.get("taskUUID")} for error in _items(body, "errors")]
    return status, body


# -- a small WebSocket client -------------------------------------------------------------------------

class Socket:
    """One client socket: send a task array, read frames with a timeout."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def ask(self, tasks: list, timeout: float = 20) -> dict:
        await self.ws.send_json(tasks)
        return await self.frame(timeout)

    async def frame(self, timeout: float = 20) -> dict:
        message = await self.ws.receive(timeout=timeout)
        assert message.type is aiohttp.WSMsgType.TEXT, message
        return json.loads(message.data)

    async def authenticate(self, key: str = PROXY_KEY, session: str | None = None) -> dict:
        task = {"taskType": "authentication", "apiKey": key}
        if session is not None:
            task["connectionSessionUUID"] = session
        return await self.ask([task])

    async def wait_done(self, task_uuid: str, timeout: float = 60) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.ask([{"taskType": "getResponse", "taskUUID": task_uuid}])
                if (frame.get("data") or [{}])[0].get("status") != "processing":
                    return frame
                await asyncio.sleep(0.05)


async def rest_run(client: MockClient, task: dict) -> tuple[dict, dict]:
    """Submit over REST and poll until done: (the ack body, the final body)."""
    status, ack = await client.post([task])
    assert status == 200, ack
    _, done = await client.wait_done(task["taskUUID"])
    return ack, done

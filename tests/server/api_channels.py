"""The mocked API over either transport, for tests that must hold for REST and WebSocket alike.

``open_channel("rest" | "ws", api)`` gives a channel whose ``send(tasks)`` returns the reply
envelope: a ``POST /v1`` (``status`` is its HTTP status), or a frame on a socket authenticated with
the key (``status`` None). Each checks its transport's envelope as the live service has it: REST
always carries ``data`` (``[]`` on a refusal), a frame never an empty ``data`` beside ``errors``;
no error item carries ``taskType`` but a WebSocket authentication refusal. ``dry_run`` sends ``X-Runware-Dry-Run: 1`` or opens the socket with
``?dryRun=1``. Imported by module name (``from api_channels import ...``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from conformance.client import MockClient

TRANSPORTS = ["rest", "ws"]


class RestChannel:
    transport = "rest"

    def __init__(self, api: MockClient, headers: dict) -> None:
        self.api, self.headers, self.status = api, headers, None

    async def send(self, tasks: list) -> dict:
        self.status, body = await self.api.post(tasks, headers=self.headers)
        assert isinstance(body.get("data"), list), body
        assert not any("taskType" in error for error in body.get("errors", [])), body
        return body


class WsChannel:
    transport = "ws"
    status = None

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, tasks: list) -> dict:
        await self.ws.send_str(json.dumps(tasks))
        message = await self.ws.receive(timeout=30)
        assert message.type is aiohttp.WSMsgType.TEXT, message
        body = json.loads(message.data)
        assert body.get("data") != [] or "errors" not in body, body
        assert all(error.get("taskType", "authentication") == "authentication" for error in body.get("errors", [])), body
        return body


@asynccontextmanager
async def open_channel(transport: str, api: MockClient, *, dry_run: bool = False) -> AsyncIterator[RestChannel | WsChannel]:
    if transport == "rest":
        yield RestChannel(api, {"X-Runware-Dry-Run": "1"} if dry_run else {})
        return
    async with api.session.ws_connect(api.ws_url + ("?dryRun=1" if dry_run else "")) as ws:
        channel = WsChannel(ws)
        auth = await channel.send([{"taskType": "authentication", "apiKey": api.api_key}])
        assert auth["data"][0]["taskType"] == "authentication", auth
        yield channel


def only_error(body: dict) -> dict:
    """The one error of a reply that must carry exactly one and no data (``data: []`` over REST)."""
    assert set(body) <= {"data", "errors"} and not body.get("data") and len(body["errors"]) == 1, body
    return body["errors"][0]


def only_item(body: dict) -> dict:
    assert set(body) == {"data"} and len(body["data"]) == 1, body
    return body["data"][0]


def media_task(media: str, operation: str = "upload", **fields) -> dict:
    return {"taskType": "mediaStorage", "taskUUID": str(uuid.uuid4()), "operation": operation, "media": media, **fields}


async def store(channel, media: str) -> dict:
    """Upload media with mediaStorage; its reply item."""
    return only_item(await channel.send([media_task(media)]))

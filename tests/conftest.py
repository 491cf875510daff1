"""Server fixtures: real vidmock servers on 127.0.0.1 (AppRunner + TCPSite on port 0).

Each server gets its own data dir, but all share one synthesizer cache for the session, so a
video rendered by one test is a cache hit for the next.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import uuid
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from mockserver.app import RunningServer, start_server
from mockserver.config import ServerConfig
from mockserver.jobs import Progression

REPO = Path(__file__).resolve().parent.parent
MODEL = "alibaba:wan@2.7"


@pytest.fixture(scope="session")
def synth_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("synth-cache")


@pytest.fixture
async def make_server(tmp_path_factory, synth_cache):
    """``await make_server(clock=..., progression="polls:2", api_keys=("k",), ...)``."""
    running: list[RunningServer] = []

    async def make(clock=None, **settings) -> RunningServer:
        if isinstance(settings.get("progression"), str):
            settings["progression"] = Progression.parse(settings["progression"])
        data_dir = tmp_path_factory.mktemp("data")
        (data_dir / "cache").symlink_to(synth_cache, target_is_directory=True)
        config = ServerConfig(**{"port": 0, "seed": 1234, "data_dir": data_dir, **settings})
        server = await start_server(config, clock=clock)
        running.append(server)
        return server

    yield make
    for server in running:
        await server.stop()


class Api:
    """A minimal REST client for one server and one API key."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, key: str | None = "test-key"):
        self.session, self.base_url, self.key = session, base_url, key

    def as_key(self, key: str | None) -> "Api":
        return Api(self.session, self.base_url, key)

    async def post(self, tasks=None, *, raw: bytes | None = None, headers: dict | None = None) -> tuple[int, dict]:
        """(HTTP status, JSON body); asserts the reply is JSON, whatever the status."""
        all_headers = {"Authorization": f"Bearer {self.key}"} if self.key is not None else {}
        all_headers.update(headers or {})
        body = raw if raw is not None else json.dumps(tasks).encode()
        async with self.session.post(f"{self.base_url}/v1", data=body, headers=all_headers) as response:
            assert response.content_type == "application/json"
            return response.status, await response.json()

    async def one_error(self, tasks) -> tuple[int, dict]:
        status, body = await self.post(tasks)
        assert set(body) == {"errors"} and len(body["errors"]) == 1, body
        return status, body["errors"][0]

    async def poll(self, task_uuid: str) -> tuple[int, dict]:
        return await self.post([{"taskType": "getResponse", "taskUUID": task_uuid}])

    async def wait_done(self, task_uuid: str, timeout: float = 60) -> tuple[int, dict]:
        """Poll until the task is no longer processing."""
        async with asyncio.timeout(timeout):
            while True:
                status, body = await self.poll(task_uuid)
                if body.get("data", [{}])[0].get("status") != "processing":
                    return status, body
                await asyncio.sleep(0.05)

    async def get(self, url: str, headers: dict | None = None, method: str = "GET"):
        async with self.session.request(method, url, headers=headers or {}) as response:
            return response.status, response.headers, await response.read()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def server(make_server) -> RunningServer:
    return await make_server()


@pytest.fixture
def api(server, http) -> Api:
    return Api(http, server.base_url)


def new_uuid() -> str:
    return str(uuid.uuid4())


def video_task(**fields) -> dict:
    """A small valid text-to-video task (720p, 2 s: fast to render)."""
    task = {"taskType": "videoInference", "taskUUID": new_uuid(), "model": MODEL,
            "positivePrompt": "a red fox in the snow", "width": 1280, "height": 720, "duration": 2}
    task.update(fields)
    return task


def png_bytes(width: int, height: int, colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def data_uri(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"

"""What the probe tests share: upstreams on 127.0.0.1 that answer dry runs, written here.

Most are a real vidmock behind a mutator: the mutator sees each task and may answer itself, hand
vidmock another task, or change vidmock's reply, so every upstream differs from vidmock in exactly
the one way a test names and agrees with it everywhere else (shape included). A registry of
published schemas is served the same way. tests/conftest.py sets VIDMOCK_OFFLINE=1. The fixtures
live here, not in a conftest.py of this folder, which would shadow tests/conftest.py for the
modules that import it by name.
"""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from conformance.probe_run import Options, probe
from conformance.probe_schema import vidmock_schema
from mockserver.contract import DEFAULT_MODEL, load_json

PROBE_KEY = "sk-live-9c2e7a41d05b3f68"  # distinctive, so a leak is found by a plain search
OFFLINE = {"VIDMOCK_OFFLINE": "1"}

HANG_UP = "hang up"  # a mutator's answer: close the connection without a reply
Reply = tuple[int, Any, dict]  # status, body (JSON value, or text), headers
Mutator = Callable[[dict, "Upstream"], Awaitable[Reply | str | None]]


@dataclass
class Upstream:
    """An upstream on 127.0.0.1: ``mutate`` answers a task, or None to let vidmock answer it."""

    vidmock_url: str
    mutate: Mutator | None = None
    received: list[tuple[dict, list]] = field(default_factory=list)  # (headers, tasks) of every request
    runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> "Upstream":
        app = web.Application()
        app.router.add_post("/v1", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/v1"
        return self

    async def stop(self) -> None:
        await self.runner.cleanup()

    async def vidmock(self, task: dict) -> tuple[int, Any]:
        """vidmock's own dry-run answer to ``task``."""
        async with aiohttp.ClientSession() as session:
            async with session.post(self.vidmock_url, json=[task],
                                    headers={"Authorization": "Bearer k", "X-Runware-Dry-Run": "1"}) as response:
                return response.status, await response.json()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        tasks = await request.json()
        self.received.append((dict(request.headers), tasks))
        answer = await self.mutate(tasks[0], self) if self.mutate else None
        if answer == HANG_UP:
            request.transport.close()
            return web.Response()
        if answer is None:
            status, body = await self.vidmock(tasks[0])
            answer = (status, body, {})
        status, body, headers = answer
        if isinstance(body, str):
            return web.Response(status=status, text=body, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    @property
    def tasks(self) -> list[dict]:
        return [tasks[0] for _, tasks in self.received]


# --- fixtures (a test module imports the ones it uses) -----------------------------------------


@pytest.fixture
async def vidmock_url(make_server) -> str:
    server = await make_server()
    return f"{server.base_url}/v1"


@pytest.fixture
async def upstream(vidmock_url):
    """``await upstream(mutate)``: a started upstream on 127.0.0.1 (stopped after the test)."""
    started: list[Upstream] = []

    async def start(mutate=None) -> Upstream:
        started.append(await Upstream(vidmock_url, mutate).start())
        return started[-1]

    yield start
    for one in started:
        await one.stop()


@pytest.fixture
async def serve_app():
    """``await serve_app(app)``: an aiohttp app on 127.0.0.1; returns its base URL."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()


def without_uuid(task: dict) -> dict:
    return {k: v for k, v in task.items() if k != "taskUUID"}


async def run_probe(upstream_url: str, *, requests: int = 200, seed: int = 1, environ: dict | None = None,
                    clock=None, sleep=None, **options: Any) -> tuple[int, dict, str]:
    """``vidmock probe --json`` in this process: (exit status, report, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    settings = Options(upstream=upstream_url, key=PROBE_KEY, requests=requests, rate=1000.0, seed=seed,
                       as_json=True, **options)
    status = await probe(settings, dict(OFFLINE if environ is None else environ), out=out, err=err,
                         clock=clock, sleep=sleep)
    return status, json.loads(out.getvalue()), err.getvalue()


def published(request_schema: dict | None = None, model: str = DEFAULT_MODEL,
              documents: dict[str, Any] | None = None) -> web.Application:
    """A schema registry: registry.json listing ``model``, resolve/<model> with ``request_schema``
    (default: vidmock's own, with what its profile says of single fields), and ``documents`` by path."""
    document = request_schema if request_schema is not None else vidmock_schema()

    async def registry(_request: web.Request) -> web.Response:
        return web.json_response({"models": {model: {"taskType": "videoInference", "id": model}}, "version": "1"})

    async def resolve(request: web.Request) -> web.Response:
        if request.match_info["model"] != model:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({"requestSchema": document, "documentation": "https://runware.ai/docs/models/x"})

    async def other(request: web.Request) -> web.Response:
        return web.json_response((documents or {})[request.path])

    app = web.Application()
    for path in documents or {}:
        app.router.add_get(path, other)
    app.router.add_get("/registry.json", registry)
    app.router.add_get("/resolve/{model}", resolve)
    return app


def raw_task_schema() -> dict:
    """vidmock's videoInference schema as stored, its shared definitions still as $refs."""
    return json.loads(json.dumps(load_json("tasks/videoInference.json")))

"""Fixtures of the probe tests: a real vidmock for the upstreams to lean on, and upstreams."""

from __future__ import annotations

import pytest
from aiohttp import web

from probe_support import Upstream


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

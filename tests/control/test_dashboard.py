"""The dashboard, rendered for real by headless Chromium against a running server."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from conformance.client import MockClient
from conftest import video_task

CHROMIUM = shutil.which("chromium") or shutil.which("/usr/bin/chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def chromium(profile: Path, *args: str) -> bytes:
    """Run headless Chromium without blocking the loop that serves the page it loads."""
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
        "--virtual-time-budget=5000", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(90):
        stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
    return stdout


async def test_dashboard_lists_tasks_violations_and_videos(server, api: MockClient, tmp_path):
    good = video_task()
    bad = video_task(width=1000, height=1000)
    await api.post([good])
    status, body = await api.post([bad])
    assert status == 400
    violation_code = body["errors"][0]["code"]
    _, done = await api.wait_done(good["taskUUID"])
    video_url = done["data"][0]["videoURL"]

    dom = (await chromium(tmp_path / "profile", "--dump-dom", f"{server.base_url}/__mock/")).decode()

    tasks_table = dom[dom.index('id="tasks"'):dom.index('id="violations"')]
    assert good["taskUUID"] in tasks_table and "status-success" in tasks_table
    assert f'<video src="{video_url}"' in tasks_table
    violations_table = dom[dom.index('id="violations"'):dom.index('id="deliveries"')]
    assert bad["taskUUID"] in violations_table and violation_code in violations_table

    shot = tmp_path / "dashboard.png"
    await chromium(tmp_path / "profile2", f"--screenshot={shot}", "--window-size=1280,900", f"{server.base_url}/__mock/")
    data = shot.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


async def test_dashboard_page_is_open_but_its_data_needs_the_token(make_server, http):
    server = await make_server(control_token="t0ken")
    async with http.get(f"{server.base_url}/__mock/") as response:
        assert response.status == 200 and "text/html" in response.headers["Content-Type"]
        assert "X-Vidmock-Control-Token" in await response.text()
    async with http.get(f"{server.base_url}/__mock/tasks") as response:
        assert response.status == 401

"""The dashboard's drift section, rendered by headless Chromium against a proxy that found drift."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from conftest import video_task
from conformance.client import MockClient
from proxy_support import PROXY_KEY, DriftingUpstream, extra_ack_field, start_proxy

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed"), pytest.mark.timeout(150)]


async def dom_of(url: str, profile: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
        "--virtual-time-budget=5000", "--dump-dom", url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(90):
        stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
    return stdout.decode()


async def test_the_dashboard_shows_drift_findings_only_when_there_are_some(make_server, tmp_path, http):
    honest = await make_server(api_keys=(PROXY_KEY,))
    upstream = await DriftingUpstream(honest.base_url, extra_ack_field).start()
    proxy = await start_proxy(upstream.base_url, tmp_path / "proxy-data")
    try:
        quiet = await dom_of(f"{honest.base_url}/__mock/", tmp_path / "profile1")
        assert '<section id="drift-section" hidden="">' in quiet
        task = video_task()
        await MockClient(proxy.base_url, PROXY_KEY, session=http).post([task])
        dom = await dom_of(f"{proxy.base_url}/__mock/", tmp_path / "profile2")
        section = dom[dom.index('id="drift-section"'):]
        section = section[:section.index("</section>")]
        assert "hidden" not in section.split(">")[0]
        assert task["taskUUID"] in section and "unexpectedField" in section and "queuePosition" in section
    finally:
        await proxy.stop()
        await upstream.stop()

"""The dashboard, rendered for real by headless Chromium against a running server: its task list,
poster frames, key filter, detail view and live refresh, driven over the DevTools protocol."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from cdp import CHROMIUM, Page
from conformance.client import MockClient
from conftest import video_task

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ROWS = "[...document.querySelectorAll('tr.task-row')]"
SCREENSHOT_DIR = os.environ.get("VIDMOCK_DASHBOARD_SCREENSHOTS")  # set it to keep the screenshots


async def keep(shot: Path) -> None:
    if SCREENSHOT_DIR:
        Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(SCREENSHOT_DIR) / shot.name)


async def test_dashboard_lists_filters_and_opens_a_task_with_its_timeline(make_server, http, tmp_path):
    server = await make_server(delivery_attempts=1)
    alice, bob = MockClient(server.base_url, "alice-key", session=http), MockClient(server.base_url, "bob-key", session=http)
    landscape = video_task(positivePrompt="a lighthouse in a storm", seed=11, duration=3, includeCost=True,
                           webhookURL="http://127.0.0.1:9/hook")  # nobody listens: one failed delivery
    polled = video_task(positivePrompt="a paper boat on a puddle", seed=12, width=720, height=1280)
    other = video_task(positivePrompt="bob's own task", seed=13)
    await alice.post([landscape])
    await alice.progression("polls:2", polled["taskUUID"])
    await alice.post([polled])
    await bob.post([other])
    for client, task in ((alice, landscape), (bob, other)):
        await client.wait_done(task["taskUUID"])
    statuses = []
    while not statuses or statuses[-1] == "processing":
        statuses.append((await alice.poll(polled["taskUUID"]))[1]["data"][0]["status"])
    assert statuses == ["processing", "processing", "success"]
    status, refused = await alice.post([{**polled, "width": 1000}])  # a violation naming the same task
    assert status == 400
    await alice.wait_for_deliveries(landscape["taskUUID"])

    async with await Page.launch(tmp_path / "profile") as page:
        await page.goto(f"{server.base_url}/__mock/")
        await page.wait_for(f"{ROWS}.length === 3")
        # every row shows a loaded poster frame (not a black player), prompt, size, duration, cost, status
        posters = await page.wait_for("""(() => { const imgs = [...document.querySelectorAll('tr.task-row img.poster')];
            return imgs.length === 3 && imgs.every(i => i.complete && i.naturalWidth > 0)
                && imgs.map(i => [i.closest('tr').dataset.task, i.naturalWidth, i.naturalHeight]); })()""")
        assert sorted(posters) == sorted([[landscape["taskUUID"], 320, 180], [polled["taskUUID"], 180, 320],
                                          [other["taskUUID"], 320, 180]])
        assert await page.evaluate("document.querySelectorAll('#tasks video').length") == 0
        row = await page.evaluate(f"""[...document.querySelector('tr[data-task="{landscape['taskUUID']}"]').cells]
                                      .slice(1).map(c => c.textContent)""")
        described = await alice.call("GET", f"tasks/{landscape['taskUUID']}")
        assert row == ["a lighthouse in a storm", "1280\u00d7720", "3 s", f"${described['cost']:.4f}", "success", str(described["polls"]),
                       "alice-key", landscape["taskUUID"]]
        assert refused["errors"][0]["code"] in await page.evaluate("document.getElementById('violations').textContent")

        # the key filter: only alice's tasks, and the choice is in the URL
        keys = await page.evaluate("[...document.getElementById('key').options].map(o => o.value)")
        assert keys == ["", "alice-key", "bob-key"]
        await page.evaluate("(() => { const s = document.getElementById('key'); s.value = 'alice-key';"
                            " s.dispatchEvent(new Event('change')); })()")
        await page.wait_for(f"{ROWS}.length === 2")
        assert await page.evaluate(f"{ROWS}.map(r => r.cells[7].textContent)") == ["alice-key", "alice-key"]
        assert await page.evaluate("location.search") == "?apiKey=alice-key"

        # click into the polled task: the request as sent, every reply, the poll timeline, violations
        await page.evaluate(f"""document.querySelector('tr[data-task="{polled['taskUUID']}"]').click()""")
        await page.wait_for("document.getElementById('detail-prompt')?.textContent === 'a paper boat on a puddle'")
        timeline = await page.evaluate("[...document.querySelectorAll('#timeline li .badge')].map(b => b.textContent)")
        assert timeline == ["processing", "processing", "success"]
        sent = json.loads(await page.evaluate("document.querySelector('#detail-request pre').textContent"))
        assert sent == [polled]
        # submit, three polls, the refused resend: each with the reply it got
        assert await page.evaluate("document.querySelectorAll('#detail-replies details').length") == 5
        violations = await page.evaluate("[...document.querySelectorAll('#detail table tbody tr')].map(r => r.cells[1].textContent)")
        assert violations == [refused["errors"][0]["code"]] == ["unsupportedModelResolution"]
        assert "polls:2" in await page.evaluate("document.querySelector('#detail dl').textContent")
        video = await page.evaluate("(() => { const v = document.querySelector('#detail video'); return [v.src, v.poster]; })()")
        _, done = await alice.poll(polled["taskUUID"])
        assert video == [done["data"][0]["videoURL"], done["data"][0]["videoURL"].removesuffix(".mp4") + ".jpg"]
        assert "task=" + polled["taskUUID"] in await page.evaluate("location.hash")
        shot = await page.screenshot(tmp_path / "dashboard-detail.png")
        await keep(tmp_path / "dashboard-detail.png")
        assert shot.startswith(PNG_SIGNATURE) and len(shot) > 10_000

        # the webhook task's detail lists its failed delivery
        await page.evaluate(f"""document.querySelector('tr[data-task="{landscape['taskUUID']}"]').click()""")
        await page.wait_for("document.getElementById('detail-prompt')?.textContent === 'a lighthouse in a storm'")
        assert "http://127.0.0.1:9/hook" in await page.evaluate("document.getElementById('detail').textContent")
        assert page.errors == []


async def test_dashboard_refreshes_live_and_works_with_the_control_token(make_server, http, tmp_path):
    server = await make_server(control_token="t0ken")
    api = MockClient(server.base_url, "k", token="t0ken", session=http)
    first = video_task(positivePrompt="first", seed=21)
    await api.post([first])
    await api.wait_done(first["taskUUID"])
    async with await Page.launch(tmp_path / "profile") as page:
        await page.goto(f"{server.base_url}/__mock/")  # no token: the page loads, its data does not
        assert "HTTP 401" in await page.wait_for("document.getElementById('state').textContent.includes('401')"
                                                 " && document.getElementById('state').textContent")
        await page.goto(f"{server.base_url}/__mock/#token=t0ken&task={first['taskUUID']}")
        await page.send("Page.reload")
        await page.wait_for(f"{ROWS}.length === 1 && document.getElementById('detail-prompt')?.textContent === 'first'")
        second = video_task(positivePrompt="second", seed=22)
        await api.post([second])
        await api.wait_done(second["taskUUID"])
        await page.wait_for(f"{ROWS}.length === 2")  # no reload: the page refreshes itself
        assert await page.evaluate(f"{ROWS}.map(r => r.cells[1].textContent)") == ["second", "first"]
        shot = await page.screenshot(tmp_path / "dashboard-token.png")
        await keep(tmp_path / "dashboard-token.png")
        assert shot.startswith(PNG_SIGNATURE)
        assert page.errors == []


async def test_dashboard_page_is_open_but_its_data_needs_the_token(make_server, http):
    server = await make_server(control_token="t0ken")
    async with http.get(f"{server.base_url}/__mock/") as response:
        assert response.status == 200 and "text/html" in response.headers["Content-Type"]
        page = await response.text()
        assert "X-Vidmock-Control-Token" in page
    assert not any(word in page for word in ("http://", "https://", "<link", " src=", "@import"))  # no external assets
    async with http.get(f"{server.base_url}/__mock/tasks") as response:
        assert response.status == 401

"""``vidmock proxy`` as a user runs it: the exit status of --fail-on-drift, the summary on exit,
the offline guard, and an API key that never reaches the recording, the journal or the log."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from conftest import REPO, video_task
from conformance.client import MockClient
from mockserver.backends.proxy import RUNWARE_REST, UpstreamRefused, install_proxy, socket_url
from mockserver.app import create_app
from mockserver.config import ServerConfig
from proxy_support import PROXY_KEY, DriftingUpstream, Socket, extra_ack_field, rest_run, ws_url

pytestmark = pytest.mark.timeout(120)
VIDMOCK = [sys.executable, "-m", "mockserver"]


def offline_env() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("VIDMOCK_")}, "VIDMOCK_OFFLINE": "1"}


async def run_proxy(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    """``vidmock proxy --port 0 ARGS`` until its one stdout line; the process and its base URL."""
    process = await asyncio.create_subprocess_exec(
        *VIDMOCK, "proxy", "--port", "0", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=offline_env(), cwd=REPO)
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    assert line.startswith("vidmock proxy serving on http://127.0.0.1:"), line
    return process, line.split()[-1]


async def stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    process.terminate()
    _, err = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode, err.decode()


@pytest.fixture
async def honest(make_server):
    return await make_server(api_keys=(PROXY_KEY,))


@pytest.mark.parametrize("drifting", [True, False])
async def test_fail_on_drift_sets_the_exit_status_and_the_summary_names_the_drift(drifting, honest, http, tmp_path):
    upstream = await DriftingUpstream(honest.base_url, extra_ack_field if drifting else (lambda t, s, b: (s, b))).start()
    try:
        process, base_url = await run_proxy("--upstream", f"{upstream.base_url}/v1", "--fail-on-drift")
        status, _ = await MockClient(base_url, PROXY_KEY, session=http).post([video_task()])
        assert status == 200
        code, stderr = await stop(process)
    finally:
        await upstream.stop()
    if drifting:
        assert code == 3, stderr
        assert "1 drift finding(s)" in stderr and "reply   unexpectedField" in stderr
    else:
        assert code == 0, stderr
        assert "no drift found" in stderr


async def test_without_fail_on_drift_drift_is_reported_but_the_exit_status_is_zero(honest, http):
    upstream = await DriftingUpstream(honest.base_url, extra_ack_field).start()
    try:
        process, base_url = await run_proxy("--upstream", f"{upstream.base_url}/v1")
        await MockClient(base_url, PROXY_KEY, session=http).post([video_task()])
        code, stderr = await stop(process)
    finally:
        await upstream.stop()
    assert code == 0 and "1 drift finding(s)" in stderr


async def test_offline_the_proxy_refuses_runware_and_any_other_remote_upstream():
    for args in ((), ("--upstream", "https://example.com/v1"), ("--upstream-ws", "wss://example.com/v1")):
        process = await asyncio.create_subprocess_exec(
            *VIDMOCK, "proxy", "--port", "0", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=offline_env(), cwd=REPO)
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert (process.returncode, out) == (2, b""), err
        assert b"VIDMOCK_OFFLINE is set: the proxy only talks to 127.0.0.1/localhost" in err
    with pytest.raises(UpstreamRefused):  # in-process too: the guard is in the proxy, not the command line
        create_app(ServerConfig(), backend=lambda app, _mock: install_proxy(app, {"VIDMOCK_OFFLINE": "1"}))


def test_the_default_upstream_is_runwares_production_api_and_its_socket_is_derived():
    assert ServerConfig().upstream == RUNWARE_REST == "https://api.runware.ai/v1"
    assert socket_url(RUNWARE_REST) == "wss://ws-api.runware.ai/v1"
    assert socket_url("http://127.0.0.1:9000/v1") == "ws://127.0.0.1:9000/v1"
    assert socket_url("https://gateway.example/runware/v1") == "wss://gateway.example/runware/v1"


async def test_the_api_key_never_reaches_the_recording_the_journal_or_the_log(honest, http, tmp_path):
    recording, media = tmp_path / "recording.jsonl", tmp_path / "media"
    process, base_url = await run_proxy("--upstream", f"{honest.base_url}/v1", "--record", str(recording),
                                        "--record-media", str(media), "--verbose")
    client = MockClient(base_url, PROXY_KEY, session=http)
    # the key travels in a header, in an authentication task, in a webhook URL's query and in a prompt
    task = video_task(webhookURL=f"http://127.0.0.1:9/hook?apiKey={PROXY_KEY}&run=1", positivePrompt=f"fox {PROXY_KEY}")
    await rest_run(client, task)
    await client.post([{"taskType": "authentication", "apiKey": PROXY_KEY}, {"taskType": "ping", "ping": True}])
    async with http.ws_connect(ws_url(base_url)) as ws:
        socket = Socket(ws)
        await socket.authenticate()
        await socket.ask([video_task()])
    admin = MockClient(base_url, None, session=http)
    journal = json.dumps(await admin.journal())
    drift = json.dumps(await admin.call("GET", "drift"))
    health = json.dumps(await admin.call("GET", "health"))
    code, stderr = await stop(process)
    assert code == 0, stderr
    text = recording.read_text()
    assert len(text.splitlines()) >= 6 and "<redacted>" in text
    for where, content in (("recording", text), ("journal", journal), ("drift", drift), ("health", health),
                           ("stderr", stderr)):
        assert PROXY_KEY not in content, where
    assert "hook?apiKey=%3Credacted%3E&run=1" in text or "hook?apiKey=<redacted>&run=1" in text
    # the upstream got the key itself (it accepts no other), and the prompt as sent
    upstream_tasks = [entry["tasks"] for entry in await MockClient(honest.base_url, PROXY_KEY, session=http).journal()]
    assert [task] in upstream_tasks
    assert [path.suffix for path in media.iterdir()] == [".mp4"]

"""``vidmock serve --verbose``: one stderr line per REST request and per WebSocket frame, the key
never whole; without the setting, nothing is logged and nothing is registered."""

from __future__ import annotations

import json
import re
import uuid

import aiohttp

from cli_run import clean_env, start_serve, stop_serve
from mockserver.app import create_app
from mockserver.config import ServerConfig
from mockserver.exchange import HOOKS
from mockserver.traffic.verbose_log import log_exchange, redact_key

KEY = "secret-key-0123456789"  # 21 characters: shown as "secr...(21)"
WRONG_KEY = "wrong-key-abcdef"
LINE = re.compile(
    r"^vidmock INFO mockserver\.verbose_log: (?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (?P<transport>rest|ws) "
    r"(?P<request>req-[0-9.]+) key=(?P<key>\S+) tasks=(?P<tasks>\S+) status=(?P<status>\S+) data=(?P<data>\S+) "
    r"errors=(?P<errors>\S+) (?P<ms>\d+\.\d\d)ms$")


def video_task(task_uuid: str) -> dict:
    return {"taskType": "videoInference", "taskUUID": task_uuid, "model": "alibaba:wan@2.7", "positivePrompt": "a fox",
            "width": 1280, "height": 720, "duration": 2}


def verbose_lines(stderr: str) -> list[dict]:
    lines = [line for line in stderr.splitlines() if "mockserver.verbose_log" in line]
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    return [match.groupdict() for match in matches]


def summary(line: dict) -> tuple:
    return line["transport"], line["key"], line["tasks"], line["status"], line["data"], line["errors"]


async def test_verbose_logs_every_rest_request_and_websocket_frame_with_the_key_redacted():
    process, base_url = await start_serve("--port", "0", "--verbose", "--api-key", KEY)
    submitted, polled, on_socket = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    try:
        async with aiohttp.ClientSession() as session:
            for body, sent_headers in (
                    (json.dumps([video_task(submitted)]), headers),
                    (json.dumps([{"taskType": "getResponse", "taskUUID": polled}, {"taskType": "ping"}]), headers),
                    ("[{", headers),
                    (json.dumps([{"taskType": "ping"}]), {"Authorization": f"Bearer {WRONG_KEY}"})):
                async with session.post(f"{base_url}/v1", data=body, headers=sent_headers) as response:
                    await response.read()
            async with session.ws_connect(base_url.replace("http", "ws") + "/v1") as socket:
                for frame in ([{"taskType": "ping"}], [{"taskType": "authentication", "apiKey": KEY}],
                              [video_task(on_socket)], "not json"):
                    await socket.send_str(frame if isinstance(frame, str) else json.dumps(frame))
                    await socket.receive(timeout=10)
    finally:
        stderr = await stop_serve(process)

    assert KEY not in stderr and WRONG_KEY not in stderr
    lines = verbose_lines(stderr)
    assert [summary(line) for line in lines] == [
        ("rest", "secr...(21)", f"videoInference:{submitted}", "200", "videoInference", "-"),
        ("rest", "secr...(21)", f"getResponse:{polled},ping", "200", "ping", "taskFailedOrNotFound"),
        ("rest", "secr...(21)", "-", "400", "-", "invalidRequestBody"),
        ("rest", "wron...(16)", "ping", "401", "-", "invalidApiKey"),
        ("ws", "-", "ping", "-", "ping", "-"),  # answered before authentication
        ("ws", "secr...(21)", "authentication", "-", "authentication", "-"),
        ("ws", "secr...(21)", f"videoInference:{on_socket}", "-", "videoInference", "-"),
        ("ws", "secr...(21)", "-", "-", "-", "invalidRequestBody"),
    ]
    socket_ids = [line["request"] for line in lines if line["transport"] == "ws"]
    assert len({ident.rsplit(".", 1)[0] for ident in socket_ids}) == 1  # req-N.0 ... req-N.3: one socket
    assert [ident.rsplit(".", 1)[1] for ident in socket_ids] == ["0", "1", "2", "3"]
    assert all(float(line["ms"]) < 10_000 for line in lines)


async def one_ping(env: dict[str, str]) -> str:
    """Start ``vidmock serve`` in ``env``, send one REST ping, stop it: its stderr."""
    process, base_url = await start_serve("--port", "0", env=env)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{base_url}/v1", json=[{"taskType": "ping"}],
                                    headers={"Authorization": f"Bearer {KEY}"}) as response:
                assert response.status == 200
    finally:
        stderr = await stop_serve(process)
    return stderr


async def test_without_verbose_nothing_is_logged():
    assert await one_ping(clean_env()) == ""


async def test_vidmock_verbose_variable_turns_it_on():
    lines = verbose_lines(await one_ping(clean_env(VIDMOCK_VERBOSE="1")))
    assert [summary(line) for line in lines] == [("rest", "secr...(21)", "ping", "200", "ping", "-")]


def test_the_observer_is_registered_only_when_verbose_is_on():
    """Off costs nothing: the exchange_done list does not hold it at all."""
    assert log_exchange not in create_app(ServerConfig(port=0))[HOOKS].exchange_done
    assert log_exchange in create_app(ServerConfig(port=0, verbose=True))[HOOKS].exchange_done


def test_a_key_is_never_shown_whole_however_short():
    assert [redact_key(key) for key in (None, "", "k", "ab", "abcd", "abcdefgh", "a b\nc\x00d-long-key")] == [
        "-", "-", "...(1)", "a...(2)", "ab...(4)", "abcd...(8)", "'a\\x20b\\n'...(16)"]

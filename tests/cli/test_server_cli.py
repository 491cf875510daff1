"""``vidmock serve`` as a user runs it (a subprocess), and where its settings come from."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from conftest import REPO
from mockserver.config import ConfigError, ServerConfig, load_config
from mockserver.jobs import Progression

VIDMOCK = [sys.executable, "-m", "mockserver"]


async def start_cli(*args: str, env: dict | None = None) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        *VIDMOCK, "serve", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})}, cwd=REPO)
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    assert line.startswith("vidmock serving on http://127.0.0.1:"), line
    return process, line.split()[-1]


async def test_serve_port_0_prints_one_line_serves_and_stops_on_sigterm(tmp_path):
    process, base_url = await start_cli("--port", "0", "--api-key", "k1", "--api-key", "k2")
    try:
        async with aiohttp.ClientSession() as session:
            for key, expected in (("k2", 200), ("k3", 401)):
                async with session.post(f"{base_url}/v1", json=[{"taskType": "ping"}],
                                        headers={"Authorization": f"Bearer {key}"}) as response:
                    assert response.status == expected
            async with session.get(f"{base_url}/__mock/health") as response:
                assert (await response.json())["status"] == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    assert await process.stdout.read() == b""  # exactly one line on stdout


async def test_serve_sigint_removes_its_temporary_data_dir():
    process, base_url = await start_cli("--port", "0")
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base_url}/__mock/health") as response:
            cache_dir = Path((await response.json())["synthesizer"]["cache_dir"])
    assert cache_dir.parent.exists()
    process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(process.wait(), 30) == 0
    assert not cache_dir.parent.exists()


async def test_serve_reads_settings_from_the_environment():
    process, base_url = await start_cli(env={"VIDMOCK_PORT": "0", "VIDMOCK_API_KEYS": "env-key"})
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{base_url}/v1", json=[{"taskType": "authentication", "apiKey": "env-key"}]) as r:
                assert r.status == 200
    finally:
        process.terminate()
        await process.wait()


async def test_bad_setting_exits_2_with_a_message():
    process = await asyncio.create_subprocess_exec(
        *VIDMOCK, "serve", "--progression", "sometimes", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=REPO)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2 and out == b""
    assert b"progression='sometimes'" in err


def test_settings_precedence_is_cli_then_env_then_file_then_default(tmp_path):
    file = tmp_path / "vidmock.toml"
    file.write_text('port = 9000\nttl = 100\nseed = 5\napi_keys = ["file-key"]\nprogression = "polls:2"\n')
    config = load_config({"port": 9100, "ttl": None}, {"VIDMOCK_TTL": "200", "VIDMOCK_SEED": "6"}, file)
    assert (config.port, config.ttl, config.seed) == (9100, 200, 6)
    assert config.api_keys == ("file-key",) and config.progression == Progression("polls", 2)
    assert config.host == "127.0.0.1" and config.max_body_bytes == 32 * 1024 * 1024


def test_defaults():
    config = load_config({}, {})
    assert config == ServerConfig()
    assert (config.port, config.ttl, config.progression, config.api_keys) == (8765, 3600, Progression("immediate"), ())


def test_env_api_keys_are_comma_separated():
    assert load_config({}, {"VIDMOCK_API_KEYS": "a, b,,c"}).api_keys == ("a", "b", "c")


@pytest.mark.parametrize("cli, env, text", [
    ({"port": 70000}, {}, "port"),
    ({}, {"VIDMOCK_TTL": "0"}, "VIDMOCK_TTL"),
    ({}, {"VIDMOCK_PROGRESSION": "polls:x"}, "VIDMOCK_PROGRESSION"),
])
def test_invalid_values_name_their_source(cli, env, text):
    with pytest.raises(ConfigError, match=text):
        load_config(cli, env)


def test_unknown_file_setting_is_an_error(tmp_path):
    file = tmp_path / "bad.toml"
    file.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_config({}, {}, file)


async def test_validate_subcommand_delegates():
    example = REPO / "fixtures" / "requests" / "example-1-frosted-railway-balloon-ascent.json"
    process = await asyncio.create_subprocess_exec(*VIDMOCK, "validate", str(example), cwd=REPO,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0

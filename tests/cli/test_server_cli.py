"""``vidmock serve`` as a user runs it (a subprocess), and where its settings come from. Each
command's usage mistakes and help texts are read through ``mockserver.cli.main`` in-process
(``vidmock_here``); the console script answers a serve mistake and --version as a subprocess."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import aiohttp
import pytest

from cli_run import REPO, clean_env, start_serve, stop_serve, vidmock, vidmock_here
from mockserver.cli import build_parser
from mockserver.commands.config_render import help_line
from mockserver.config import BY_NAME, SETTINGS, ConfigError, ServerConfig, load_config, user_cache_dir
from mockserver.jobs.store import Progression

VIDMOCK = [sys.executable, "-m", "mockserver"]


async def start_cli(*args: str, env: dict | None = None) -> tuple[asyncio.subprocess.Process, str]:
    return await start_serve(*args, env=clean_env(**(env or {})))


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
            synthesizer = (await response.json())["synthesizer"]
    per_run_cache, render_cache = Path(synthesizer["scratch_dir"]), Path(synthesizer["cache_dir"])
    assert per_run_cache.parent.exists() and render_cache == user_cache_dir()
    process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(process.wait(), 30) == 0
    assert not per_run_cache.parent.exists()  # the render cache outlives the run; the data dir does not


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



def test_cache_dir_is_the_users_cache_a_folder_or_none(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert load_config({}, {}).render_cache(data) == tmp_path / "xdg" / "vidmock"  # the default: "user"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for cli, env, expected in [
        ({"cache_dir": "none"}, {}, data / "cache"),
        ({}, {"VIDMOCK_CACHE_DIR": ""}, data / "cache"),  # empty: no cache past the run either
        ({}, {"VIDMOCK_CACHE_DIR": "NONE"}, data / "cache"),
        ({"cache_dir": "~/renders"}, {"VIDMOCK_CACHE_DIR": "none"}, tmp_path / "home" / "renders"),
        ({}, {"VIDMOCK_CACHE_DIR": "user"}, tmp_path / "xdg" / "vidmock"),
    ]:
        assert load_config(cli, env).render_cache(data) == expected, (cli, env)
    file = tmp_path / "vidmock.toml"
    file.write_text('cache_dir = 3\n')
    with pytest.raises(ConfigError, match=r"^config file: cache_dir=3: expected a string$"):
        load_config({}, {}, file)

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


# --- one name per idea, and mistakes named ---------------------------------------------------------


async def test_vidmock_api_key_is_the_setting_serve_reads():
    """The name `vidmock check` hands its clients is the one `vidmock serve` reads."""
    process, base_url = await start_serve("--port", "0", env=clean_env(VIDMOCK_API_KEY="secret, other"))
    try:
        async with aiohttp.ClientSession() as session:
            for key, expected in (("secret", 200), ("other", 200), ("guess", 401)):
                async with session.post(f"{base_url}/v1", json=[{"taskType": "ping"}],
                                        headers={"Authorization": f"Bearer {key}"}) as response:
                    assert response.status == expected, key
    finally:
        assert await stop_serve(process) == ""  # a known name: no warning


async def test_deprecated_api_keys_still_works_and_says_so():
    process, base_url = await start_serve("--port", "0", env=clean_env(VIDMOCK_API_KEYS="old"))
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{base_url}/v1", json=[{"taskType": "ping"}],
                                    headers={"Authorization": "Bearer old"}) as response:
                assert response.status == 200
    finally:
        err = await stop_serve(process)
    assert err == "vidmock: warning: environment: VIDMOCK_API_KEYS is deprecated; use VIDMOCK_API_KEY\n"


async def test_unknown_vidmock_variables_are_named_at_start_up_and_the_others_are_not():
    others = {"VIDMOCK_HTTP_URL": "x", "VIDMOCK_WS_URL": "x", "VIDMOCK_BASE_URL": "x", "RUNWARE_API_KEY": "x",
              "VIDMOCK_CONFIG": "", "VIDMOCK_EXTERNAL_URL": "x", "VIDMOCK_SDK_HOME": "x",
              "VIDMOCK_SDK_PYTHON": "x", "VIDMOCK_FUZZ_EXPLORE": "1", "IMAGEIO_FFMPEG_EXE": os.environ.get(
                  "IMAGEIO_FFMPEG_EXE", "")}
    env = clean_env(VIDMOCK_PROT="9000", VIDMOCK_SEEED="1", VIDMOCK_ZZZ="1", **others)
    if not env["IMAGEIO_FFMPEG_EXE"]:
        del env["IMAGEIO_FFMPEG_EXE"]
    process, base_url = await start_serve("--port", "0", env=env)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base_url}/__mock/health") as response:
                assert response.status == 200
    finally:
        err = await stop_serve(process)
    assert err.splitlines() == [
        "vidmock: warning: VIDMOCK_PROT is not a vidmock variable; ignored (did you mean VIDMOCK_PORT?)",
        "vidmock: warning: VIDMOCK_SEEED is not a vidmock variable; ignored (did you mean VIDMOCK_SEED?)",
        "vidmock: warning: VIDMOCK_ZZZ is not a vidmock variable; ignored",
    ]


def test_unknown_toml_key_stops_serve_and_names_the_nearest_setting(tmp_path):
    file = tmp_path / "vidmock.toml"
    file.write_text("prot = 9000\nzzz = 1\napi_keyz = ['a']\n")
    done = vidmock("serve", "--config", str(file))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"vidmock: config file {file}: unknown setting(s) api_keyz (did you mean api_key?), "
                           "prot (did you mean port?), zzz\n")


def test_a_serve_mistake_prints_serve_usage_and_the_nearest_option():
    done = vidmock("serve", "--prot", "9000")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("usage: vidmock serve [-h] [--host HOST] [--port PORT]")
    assert done.stderr.endswith("vidmock serve: error: unrecognized arguments: --prot 9000 (did you mean --port?)\n")


@pytest.mark.parametrize("args, usage, error", [
    (["serve", "--port"], "usage: vidmock serve ", "vidmock serve: error: argument --port: expected one argument"),
    (["validate"], "usage: vidmock validate ", "vidmock validate: error: the following arguments are required: FILE"),
    (["validate", "--jsn", "a.json"], "usage: vidmock validate ",
     "vidmock validate: error: unrecognized arguments: --jsn (did you mean --json?)"),
    (["explain"], "usage: vidmock explain ", "vidmock explain: error: give a rule id or an error code, or --list"),
    (["check", "--junt", "x.xml", "--", "true"], "usage: vidmock check ",
     "vidmock check: error: unrecognized arguments: --junt (did you mean --junit?)"),
    (["openapi", "--outptu", "x.json"], "usage: vidmock openapi ",
     "vidmock openapi: error: unrecognized arguments: --outptu x.json (did you mean --output?)"),
    (["serv"], "usage: vidmock [-h] [--version] COMMAND ...", "vidmock: error: argument COMMAND: invalid choice: 'serv'"),
])
def test_each_command_answers_a_mistake_with_its_own_usage(args, usage, error, capsys, monkeypatch):
    done = vidmock_here(capsys, monkeypatch, *args)  # the console script's own: the serve mistake above
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(usage), done.stderr
    assert error in done.stderr.splitlines()[-1], done.stderr


def test_version_is_the_installed_distributions():
    done = vidmock("--version")
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert (done.returncode, done.stdout, done.stderr) == (0, f"vidmock {metadata.version('vidmock')}\n", "")
    assert metadata.version("vidmock") == declared


@pytest.mark.parametrize("command", ["serve", "proxy"])
def test_help_shows_every_setting_of_the_command_with_its_help_and_default(command, capsys, monkeypatch):
    done = vidmock_here(capsys, monkeypatch, command, "--help")
    text = " ".join(done.stdout.split())  # argparse wraps lines
    for s in SETTINGS:
        shown = f"{s.flag} {s.metavar}" in text if not s.switch else f"{s.flag}, --no-{s.flag[2:]}" in text
        assert shown == s.belongs_to(command), s.name
        assert (" ".join(help_line(s).split()) in text) == s.belongs_to(command), s.name
    assert "(default 8765)" in text and "(default: random)" in text


@pytest.mark.parametrize("command", ["serve", "proxy"])
def test_flags_are_exactly_the_settings_of_the_command(command):
    parser = build_parser()._subparsers._group_actions[0].choices[command]
    flags = {option for action in parser._actions for option in action.option_strings}
    mine = [s for s in SETTINGS if s.belongs_to(command)]
    expected = {s.flag for s in mine} | {f"--no-{s.flag[2:]}" for s in mine if s.switch}
    assert flags == expected | {"-h", "--help", "--config", "--print-config"}
    assert ("--replay" in flags, "--upstream" in flags) == (command == "serve", command == "proxy")


# --- load_config: names, aliases, value checks ---------------------------------------------------


def test_every_setting_has_one_name_for_flag_variable_and_key():
    for s in SETTINGS:
        assert s.flag == "--" + s.name.replace("_", "-") and s.env == "VIDMOCK_" + s.name.upper()
    assert BY_NAME["api_key"].attribute == "api_keys" and BY_NAME["api_keys"] is BY_NAME["api_key"]
    assert BY_NAME["delivery_allow_host"].attribute == "delivery_allow_hosts"


def test_api_key_from_flag_env_and_file_and_the_deprecated_names(tmp_path):
    file = tmp_path / "vidmock.toml"
    file.write_text('api_key = ["f1", "f2"]\ndelivery_allow_hosts = ["hooks.test"]\n')
    notices: list[str] = []
    config = load_config({}, {}, file, notices=notices)
    assert config.api_keys == ("f1", "f2") and config.delivery_allow_hosts == ("hooks.test",)
    assert notices == ["config file: delivery_allow_hosts is deprecated; use delivery_allow_host"]
    assert load_config({}, {"VIDMOCK_API_KEY": "e1,e2"}, file).api_keys == ("e1", "e2")
    assert load_config({"api_key": ["c"]}, {"VIDMOCK_API_KEY": "e1"}, file).api_keys == ("c",)


def test_a_setting_named_twice_in_one_source_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="^environment: VIDMOCK_API_KEY and VIDMOCK_API_KEYS name the same "
                                          "setting; keep VIDMOCK_API_KEY$"):
        load_config({}, {"VIDMOCK_API_KEY": "a", "VIDMOCK_API_KEYS": "b"})
    file = tmp_path / "vidmock.toml"
    file.write_text('api_key = ["a"]\napi_keys = ["b"]\n')
    with pytest.raises(ConfigError, match="^config file: api_key and api_keys name the same setting; keep api_key$"):
        load_config({}, {}, file)


@pytest.mark.parametrize("toml, message", [
    ("ttl = 1.5", "config file: ttl=1.5: expected an integer"),
    ("port = true", "config file: port=True: expected an integer"),
    ("media_cap_mb = nan", "config file: media_cap_mb=nan: expected a finite number"),
    ("ws_idle_timeout = inf", "config file: ws_idle_timeout=inf: expected a finite number"),
    ("host = 5", "config file: host=5: expected a string"),
    ("api_key = [1, 2]", "config file: api_key=[1, 2]: expected a list of strings or a comma-separated string"),
    ('verbose = "sometimes"', "config file: verbose='sometimes': expected true or false"),
])
def test_file_values_of_the_wrong_kind_are_named(tmp_path, toml, message):
    file = tmp_path / "vidmock.toml"
    file.write_text(toml + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config({}, {}, file)
    assert str(caught.value) == message


def test_whole_floats_are_integers_and_verbose_reads_like_every_switch(tmp_path):
    file = tmp_path / "vidmock.toml"
    file.write_text("ttl = 3600.0\nverbose = true\n")
    assert (load_config({}, {}, file).ttl, load_config({}, {}, file).verbose) == (3600, True)
    assert load_config({}, {"VIDMOCK_VERBOSE": "0"}, file).verbose is False
    assert load_config({"verbose": False}, {"VIDMOCK_VERBOSE": "yes"}).verbose is False
    assert ServerConfig().verbose is False

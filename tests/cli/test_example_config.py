"""docs/vidmock.example.toml: made from the settings table, printed by --print-config, and it loads."""

from __future__ import annotations

import tomllib
from pathlib import Path

import aiohttp

from cli_run import REPO, start_serve, stop_serve, vidmock, vidmock_here
from mockserver.commands.config_render import EXAMPLE_CONFIG, example_values, render_toml, toml_value
from mockserver.config import SETTINGS, ServerConfig, load_config

EXAMPLE = REPO / EXAMPLE_CONFIG


def test_the_committed_example_is_what_the_generator_and_print_config_make():
    committed = EXAMPLE.read_text(encoding="utf-8")
    assert committed == render_toml(), "run python -m mockserver.commands.config_render"
    done = vidmock("serve", "--print-config")
    assert (done.returncode, done.stdout, done.stderr) == (0, committed, "")


def test_the_example_names_every_setting_with_its_help_and_loads_as_the_defaults():
    text = EXAMPLE.read_text(encoding="utf-8")
    serve_settings = [s for s in SETTINGS if s.belongs_to("serve")]  # vidmock proxy's own are in its --print-config
    assert len(serve_settings) < len(SETTINGS)
    for s in serve_settings:
        assert f"# {s.help}" in text
        assert f"\n{s.name} = " in text or f"\n# {s.name} = " in text
    for s in SETTINGS:
        if not s.belongs_to("serve"):
            assert f"\n{s.name} = " not in text and f"\n# {s.name} = " not in text
    assert load_config({}, {}, EXAMPLE) == ServerConfig()
    table = tomllib.loads(text)
    assert set(table) == {s.name for s in serve_settings if s.default is not None}


def test_uncommenting_every_example_line_gives_a_valid_config(tmp_path):
    uncommented = tmp_path / "vidmock.toml"
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    names = {s.name for s in SETTINGS}
    uncommented.write_text("\n".join(line[2:] if line[2:].split(" = ")[0] in names else line for line in lines))
    assert load_config({}, {}, uncommented) == example_values()
    assert example_values().seed == 1234 and example_values().data_dir == Path("vidmock-data")


async def test_serve_runs_with_the_example_config_and_answers_a_request():
    process, base_url = await start_serve("--config", str(EXAMPLE), "--port", "0")
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{base_url}/v1", json=[{"taskType": "ping"}],
                                    headers={"Authorization": "Bearer any-key"}) as response:
                assert (response.status, await response.json()) == (200, {"data": [{"taskType": "ping", "pong": True}]})
    finally:
        assert await stop_serve(process) == ""  # no unknown or deprecated name in the example


def test_print_config_shows_the_settings_in_effect_and_reads_back(tmp_path, capsys, monkeypatch):
    done = vidmock_here(capsys, monkeypatch, "serve", "--print-config", "--seed", "7", "--api-key", "a", "--api-key",
                        "b", "--verbose", "--data-dir", str(tmp_path / "d"), VIDMOCK_TTL="5", VIDMOCK_PROGRESSION="polls:2")
    assert (done.returncode, done.stderr) == (0, "")
    table = tomllib.loads(done.stdout)
    assert (table["seed"], table["api_key"], table["ttl"], table["progression"], table["verbose"]) == (
        7, ["a", "b"], 5, "polls:2", True)
    printed = tmp_path / "printed.toml"
    printed.write_text(done.stdout)
    expected = load_config({"seed": "7", "api_key": ["a", "b"], "verbose": True, "data_dir": str(tmp_path / "d")},
                           {"VIDMOCK_TTL": "5", "VIDMOCK_PROGRESSION": "polls:2"})
    assert load_config({}, {}, printed) == expected


def test_toml_values_read_back_as_written(tmp_path):
    for value in ("plain", 'quote " and \\ and \x7f and é', 0, 12, 0.25, 1e-05, True, False, ("a", "b,c"), ()):
        file = tmp_path / "v.toml"
        file.write_text(f"v = {toml_value(value)}\n", encoding="utf-8")
        read = tomllib.loads(file.read_text(encoding="utf-8"))["v"]
        assert (tuple(read) if isinstance(value, tuple) else read) == value


def test_vidmock_config_names_the_file_and_the_command_line_names_it_first(tmp_path, capsys, monkeypatch):
    from_env, from_flag = tmp_path / "env.toml", tmp_path / "flag.toml"
    from_env.write_text('api_key = ["from-env-file"]\n')
    from_flag.write_text('api_key = ["from-flag-file"]\n')
    done = vidmock_here(capsys, monkeypatch, "serve", "--print-config", VIDMOCK_CONFIG=str(from_env))
    assert (done.returncode, tomllib.loads(done.stdout)["api_key"]) == (0, ["from-env-file"])
    done = vidmock_here(capsys, monkeypatch, "serve", "--print-config", "--config", str(from_flag),
                        VIDMOCK_CONFIG=str(from_env))
    assert (done.returncode, tomllib.loads(done.stdout)["api_key"]) == (0, ["from-flag-file"])

"""``vidmock openapi``: the mocked API's OpenAPI document on stdout or in a file, as the server serves it."""

from __future__ import annotations

import json

import aiohttp

from cli_run import start_serve, stop_serve, vidmock, vidmock_here
from mockserver.commands.openapi import openapi_document


def test_openapi_prints_the_document_as_json():
    done = vidmock("openapi")
    assert (done.returncode, done.stderr) == (0, "")
    printed = json.loads(done.stdout)
    assert printed == openapi_document()
    assert printed["servers"][0]["url"] == "http://{host}:{port}"
    assert {"/v1", "/media/{file}", "/openapi.json"} == set(printed["paths"])


def test_openapi_output_writes_the_file_and_nothing_on_stdout(tmp_path, capsys, monkeypatch):
    target = tmp_path / "vidmock-openapi.json"
    done = vidmock_here(capsys, monkeypatch, "openapi", "--output", str(target))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert json.loads(target.read_text()) == openapi_document()


def test_openapi_output_to_a_missing_folder_exits_1_and_says_why(tmp_path, capsys, monkeypatch):
    done = vidmock_here(capsys, monkeypatch, "openapi", "--output", str(tmp_path / "missing" / "x.json"))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"vidmock: cannot write {tmp_path / 'missing' / 'x.json'}: No such file or directory\n"


async def test_the_printed_document_is_the_served_one_but_for_its_server():
    process, base_url = await start_serve("--port", "0")
    try:
        async with aiohttp.ClientSession() as session, session.get(base_url + "/openapi.json") as response:
            served = await response.json()
    finally:
        await stop_serve(process)
    printed = json.loads(vidmock("openapi").stdout)
    assert served["servers"] == [{"url": base_url}]
    assert {**served, "servers": printed["servers"]} == printed

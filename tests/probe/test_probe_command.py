"""``vidmock probe`` run as a user runs it: the console script in a subprocess, against a really
started ``vidmock serve`` and against upstreams written here, all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import jsonschema
import pytest

from mockserver.cli import main
from mockserver.contract import load_json
from probe_support import PROBE_KEY
from probe_support import serve_app  # noqa: F401 - fixtures

VIDMOCK = str(Path(sys.executable).with_name("vidmock"))
REPO = Path(__file__).resolve().parents[2]
CAPTURE_KEYS = {"source", "kind", "task", "model", "transport", "http_status", "judgement", "notes", "verbatim",
                "parsed", "origin", "redacted", "request"}


def env(**extra: str) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("VIDMOCK_", "RUNWARE_"))}
    return {**kept, "VIDMOCK_OFFLINE": "1", **extra}


async def vidmock(*args: str, environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        VIDMOCK, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=environ or env(RUNWARE_API_KEY=PROBE_KEY), cwd=REPO)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, out.decode(), err.decode()


@pytest.mark.slow  # a whole probe run against a started vidmock serve
async def test_a_real_vidmock_serve_as_upstream_gives_no_findings_and_evidence_of_every_exchange(tmp_path):
    serve = await asyncio.create_subprocess_exec(VIDMOCK, "serve", "--port", "0", stdout=asyncio.subprocess.PIPE,
                                                 stderr=asyncio.subprocess.PIPE, env=env(), cwd=REPO)
    try:
        line = (await asyncio.wait_for(serve.stdout.readline(), 30)).decode()
        upstream = line.split()[-1] + "/v1"
        evidence = tmp_path / "dry-runs.json"
        status, out, err = await vidmock("probe", "--upstream", upstream, "--requests", "150", "--rate", "1000",
                                         "--seed", "5", "--json", "--evidence", str(evidence), "--fail-on-drift")
    finally:
        serve.terminate()
        await serve.wait()
    assert status == 0, err
    report = json.loads(out)
    assert report["findings"] == [] and report["sent"] == report["agreed"] == 150
    assert report["upstream"] == upstream and report["seed"] == 5
    captures = json.loads(evidence.read_text())
    assert len(captures) == 150
    capture_schema = load_json("evidence/capture.json")  # what fixtures/real/ holds: the corpus test replays these
    for capture in captures:
        jsonschema.validate(capture, capture_schema)
        assert CAPTURE_KEYS <= set(capture)
        assert capture["origin"] == "dry-run" and capture["transport"] == "rest" and capture["redacted"] == ""
        assert capture["parsed"] == json.loads(capture["verbatim"])
        assert capture["source"]["url"] == upstream and capture["source"]["repo"] == "127.0.0.1"
        assert isinstance(capture["http_status"], int) and len(capture["request"]) == 1
    assert captures[0]["notes"] == "canary" and captures[0]["kind"] == "reply (dry run accepted)"
    assert PROBE_KEY not in evidence.read_text() + out + err


async def test_the_key_appears_in_no_output_and_no_file_even_when_the_upstream_quotes_it(serve_app, tmp_path):
    from aiohttp import web

    async def quoting(request: web.Request) -> web.Response:
        said = request.headers["Authorization"].removeprefix("Bearer ")
        return web.json_response({"data": [], "errors": [{"code": "invalidApiKey", "message": f"Invalid key {said}"}]},
                                 status=401)

    app = web.Application()
    app.router.add_post("/v1", quoting)
    upstream = await serve_app(app) + "/v1"
    evidence = tmp_path / "e.json"
    for output in ([], ["--json"]):
        status, out, err = await vidmock("probe", "--upstream", upstream, "--evidence", str(evidence), *output)
        assert status == 2
        assert "refused the API key (HTTP 401)" in err
        written = evidence.read_text()
        assert PROBE_KEY not in out + err + written
        assert "Invalid key <redacted>" in written
        [capture] = json.loads(written)
        assert capture["redacted"] == "the API key, where the reply quoted it"
        assert (capture["kind"], capture["http_status"]) == ("reply (dry run refused)", 401)


async def test_a_readable_summary_names_each_finding_and_how_to_reproduce_it(serve_app):
    from aiohttp import web

    async def dearer(request: web.Request) -> web.Response:
        task = (await request.json())[0]
        return web.json_response({"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"], "cost": 9.5}]})

    app = web.Application()
    app.router.add_post("/v1", dearer)
    upstream = await serve_app(app) + "/v1"
    status, out, _ = await vidmock("probe", "--upstream", upstream, "--requests", "3", "--rate", "1000",
                                   "--seed", "1", "--fail-on-drift")
    assert status == 1
    assert out.startswith(f"vidmock probe of {upstream} (seed 1)\n3 dry run(s) sent, 0 answered alike\n")
    assert "1. cost: The upstream quotes 9.5; vidmock's profile prices it at 0.20085." in out
    assert f"reproduce: vidmock probe --case '{{\"taskType\":\"videoInference\"" in out
    assert f"--upstream {upstream}" in out


USAGE_ERRORS = [
    ((), {}, "set RUNWARE_API_KEY"),
    (("--api-key-env", "MY_KEY"), {"RUNWARE_API_KEY": PROBE_KEY}, "set MY_KEY"),
    (("--case", "{not json"), None, "--case is not JSON"),
    (("--case", "[1]"), None, "--case must be one task object"),
    (("--case", '{"taskType": "videoInference", "webhookURL": "https://x.example/h"}'), None,
     "webhookURL would make the service call out"),
    (("--case", '{"inputs": {"audio": "https://x.example/a.mp3"}}'), None, "allow with --url-inputs"),
    (("--requests", "0"), None, "must be at least 1"),
    (("--rate", "0"), None, "must be more than 0"),
    (("--upstream", "http://127.0.0.1:9/v1", "--frobnicate"), None, "unrecognized arguments: --frobnicate"),
]


async def test_a_usage_error_exits_2_from_the_console_script_with_nothing_on_stdout():
    """The process itself, for the first usage error; every case runs in-process below."""
    args, extra, said = USAGE_ERRORS[0]
    status, out, err = await vidmock("probe", *args, environ=env(**extra))
    assert (status, out) == (2, "") and said in err, err


@pytest.mark.parametrize(("args", "extra", "said"), USAGE_ERRORS, ids=[said for *_, said in USAGE_ERRORS])
def test_usage_errors_exit_2_before_anything_is_sent(args, extra, said, monkeypatch, capsys):
    """``mockserver.cli.main`` in this process (a subprocess adds nothing to an argument check):
    exit status 2, stdout empty, the reason on stderr."""
    for name in [name for name in os.environ if name.startswith(("VIDMOCK_", "RUNWARE_"))]:
        monkeypatch.delenv(name)
    for name, value in {"VIDMOCK_OFFLINE": "1", **(extra if extra is not None else {"RUNWARE_API_KEY": PROBE_KEY})}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(["probe", *args])
    out, err = capsys.readouterr()
    assert (exited.value.code, out) == (2, ""), err
    assert said in err


async def test_offline_refuses_runwares_endpoint_and_says_why():
    status, out, err = await vidmock("probe")
    assert status == 2
    assert "VIDMOCK_OFFLINE is set: probe only talks to 127.0.0.1/localhost, not https://api.runware.ai/v1" in err
    assert PROBE_KEY not in out + err

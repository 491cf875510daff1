"""schemathesis against both OpenAPI documents, the way an outside user runs it: its CLI,
``schemathesis run URL --checks all``, against a really started ``vidmock serve --port 0``.

The mocked API's document (``GET /openapi.json``) and the control plane's (``GET
/__mock/openapi.json``) each get their own server, since the control run resets state and installs
faults. What schemathesis is told beyond the documents is in ``schemathesis/*.toml`` beside this
file, each line with its reason. The examples and coverage phases do not depend on the seed and
run once; fuzzing and stateful testing run once more per further seed. ``VIDMOCK_FUZZ_EXPLORE=1``
draws random seeds and ten times the examples.
"""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.serverproc import start_vidmock
from mockserver.contract import model_profile

HERE = Path(__file__).resolve().parent

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))  # the console script next to python
EXPLORE = os.environ.get("VIDMOCK_FUZZ_EXPLORE") == "1"
SEEDS = tuple(random.randrange(1 << 30) for _ in range(3)) if EXPLORE else (1, 2, 3)
EXAMPLES = 100 if EXPLORE else 10  # per operation and phase
KEY = "schemathesis-key"
# What a schema-valid task may still be refused for: the model profile's cross-field rules, and the
# server's state (a taskUUID used before, a task never submitted, an input UUID never uploaded or of
# another kind), and what the bytes of inline media turn out to be (base64 that decodes to no image,
# media of no listed format). Never a code of the schema itself.
PROFILE_CODES = {rule["code"] for rule in model_profile()["rules"]}
STATE_CODES = {"conflictTaskUUID", "taskFailedOrNotFound", "unknownInputUUID", "invalidInputUUID", "invalidImage",
               "invalidMedia"}

RUN_TIMEOUT = 1500 if EXPLORE else 200  # seconds one schemathesis run may take
pytestmark = [pytest.mark.slow, pytest.mark.timeout(4 * RUN_TIMEOUT)]


def run_schemathesis(document_url: str, report: Path, seed: int, *extra: str, config: str | None = None,
                     env: dict[str, str] | None = None) -> list[dict]:
    """One ``schemathesis run``; fails the test with its own output unless every check passed.
    Returns the cases it sent with their replies (its NDJSON report)."""
    settings = ["--config-file", str(HERE / "schemathesis" / config)] if config else []
    done = subprocess.run(
        [SCHEMATHESIS, *settings, "run", document_url, "--checks", "all", "--max-examples", str(EXAMPLES),
         "--seed", str(seed), "--generation-database", "none", "--no-color",
         "--report", "ndjson", "--report-ndjson-path", str(report), *extra],
        capture_output=True, text=True, timeout=RUN_TIMEOUT, env={**os.environ, **(env or {})}, cwd=report.parent)
    assert done.returncode == 0, f"schemathesis (seed {seed}) found something:\n{done.stdout[-12000:]}\n{done.stderr[-3000:]}"
    return exchanges(report)


def exchanges(report: Path) -> list[dict]:
    """``{method, path, mode, status, body}`` for every case of an NDJSON report."""
    found = []
    for line in report.read_text().splitlines():
        event = json.loads(line)
        recorder = event.get("ScenarioFinished", {}).get("recorder", {})
        for case_id, interaction in recorder.get("interactions", {}).items():
            case = recorder["cases"][case_id]["value"]
            response = interaction.get("response") or {}
            content = response.get("content") or {}
            body = base64.b64decode(content["$base64"]) if "$base64" in content else (content.get("string") or "").encode()
            found.append({"method": case["method"], "path": case["path"], "mode": case["meta"]["generation"]["mode"],
                          "status": response.get("status_code"), "body": body})
    return found


def post_json(url: str, body: object, key: str = KEY) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        return json.load(error)


def finished_video(base_url: str) -> tuple[str, str]:
    """Submit a small video task and poll until success: its taskUUID and its media file name."""
    task_uuid = str(uuid.uuid4())
    task = {"taskType": "videoInference", "taskUUID": task_uuid, "model": "alibaba:wan@2.7",
            "positivePrompt": "a fox", "width": 1280, "height": 720, "duration": 2}
    assert "errors" not in post_json(f"{base_url}/v1", [task])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        item = post_json(f"{base_url}/v1", [{"taskType": "getResponse", "taskUUID": task_uuid}])["data"][0]
        if item["status"] == "success":
            return task_uuid, item["videoURL"].rsplit("/", 1)[1]
        time.sleep(0.1)
    raise AssertionError("the video did not finish in 60 s")


@pytest.fixture
def served():
    """A fresh ``vidmock serve --port 0``; on the way out, the check that it never logged a traceback."""
    servers = []

    def start(*options: str):
        server = start_vidmock("--seed", "5", *options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        assert server.stop() == 0
        assert "Traceback" not in server.stderr_text(), server.stderr_text()[-4000:]


def test_schemathesis_finds_nothing_in_the_mocked_apis_document(served, tmp_path):
    server = served()
    _, media_file = finished_video(server.base_url)
    sent = []
    for number, seed in enumerate(SEEDS):
        phases = () if number == 0 else ("--phases", "fuzzing,stateful")
        sent += run_schemathesis(f"{server.base_url}/openapi.json", tmp_path / f"api-{seed}.ndjson", seed,
                                 "-H", f"Authorization: Bearer {KEY}", *phases, config="api.toml",
                                 env={"MOCK_MEDIA_FILE": media_file})

    # Every operation but the WebSocket upgrade was exercised, with valid and with invalid data.
    tried = Counter((case["method"], case["path"], case["mode"]) for case in sent)
    for operation in (("POST", "/v1"), ("GET", "/media/{file}"), ("HEAD", "/media/{file}")):
        assert tried[(*operation, "positive")] > 0, tried
    assert tried[("POST", "/v1", "negative")] > 0, tried

    # Schema-valid task arrays were accepted, or refused only for what the schema cannot hold.
    positive = [case for case in sent if (case["method"], case["path"], case["mode"]) == ("POST", "/v1", "positive")]
    statuses = Counter(case["status"] for case in positive)
    assert statuses[200] > 0 and set(statuses) <= {200, 400}, statuses
    refused = Counter(error["code"] for case in positive if case["status"] == 400
                      for error in json.loads(case["body"])["errors"])
    assert set(refused) <= PROFILE_CODES | STATE_CODES, refused

    # The media file was served whole and in ranges.
    media = Counter(case["status"] for case in sent if case["path"] == "/media/{file}")
    assert media[200] > 0 and media[206] > 0, media


def test_schemathesis_finds_nothing_in_the_control_planes_document(served, tmp_path):
    """The whole control API, then (on a fresh server: the first run leaves faults and policies
    installed) its per-task operations over a real task of a real key."""
    server = served()
    for number, seed in enumerate(SEEDS):
        phases = () if number == 0 else ("--phases", "fuzzing,stateful")
        run_schemathesis(f"{server.base_url}/__mock/openapi.json", tmp_path / f"control-{seed}.ndjson", seed, *phases)

    server = served()
    task_uuid, _ = finished_video(server.base_url)
    sent = run_schemathesis(f"{server.base_url}/__mock/openapi.json", tmp_path / "control-tasks.ndjson", SEEDS[0],
                            "--include-path-regex",
                            "^/__mock/tasks/", config="control-tasks.toml",
                            env={"MOCK_TASK_UUID": task_uuid, "MOCK_API_KEY": KEY})
    reached = Counter((case["method"], case["path"]) for case in sent if case["status"] == 200)
    assert len(reached) == 5, reached  # get, wait, complete, fail and progression each met the task

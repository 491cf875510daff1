"""The three official Runware SDKs, unmodified, against ``vidmock serve`` (marker ``sdk``).

Each SDK runs in its own venv or node folder (``setup_sdks.sh``) through a small client script
that prints one JSON line with the outcome; these tests judge that outcome: a real 1280x720,
30 fps, 60-frame video for t2v and i2v, the SDK's own exception for a bad size or key, and a
finished video after the socket is dropped mid-poll.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

pytestmark = pytest.mark.sdk

HERE = Path(__file__).resolve().parent
CLIENTS = HERE / "clients"
SDK_HOME = Path(os.environ.get("VIDMOCK_SDK_HOME") or Path.home() / ".cache" / "vidmock-sdk")
KEY, DROP_KEY = "sdk-key", "sdk-drop-key"
CLIENT_TIMEOUT = 90  # seconds; a healthy run takes 0.5-7 s
SETUP_TIMEOUT = 270  # under pytest-timeout's 300 s, which also covers fixture setup

SDKS = ["sdk-python-ws", "runware-sdk-ws", "runware-sdk-rest", "sdk-js-ws"]
WEBSOCKET_SDKS = [sdk for sdk in SDKS if sdk.endswith("-ws")]


def client_command(sdk: str, scenario: str, options: tuple[str, ...] = ()) -> list[str]:
    """The command running one SDK through a scenario; ``options`` go before the scenario
    (``--number-results N``)."""
    return {
        "sdk-python-ws": [str(SDK_HOME / "venv-runware/bin/python"), str(CLIENTS / "sdk_python_client.py")],
        "runware-sdk-ws": [str(SDK_HOME / "venv-runware-sdk/bin/python"), str(CLIENTS / "runware_sdk_client.py"),
                           "--transport", "websocket"],
        "runware-sdk-rest": [str(SDK_HOME / "venv-runware-sdk/bin/python"), str(CLIENTS / "runware_sdk_client.py"),
                             "--transport", "rest"],
        "sdk-js-ws": ["node", str(CLIENTS / "sdk_js_client.mjs")],
    }[sdk] + [*options, scenario]


# What each SDK makes of a rejected request: (error class, code). runware-sdk maps the server's
# code to a category; the other two keep it. sdk-python reports a bad key as ConnectionError.
EXPECTED_ERRORS = {
    "invalid-size": {"sdk-python-ws": ("RunwareAPIError", "unsupportedModelResolution"),
                     "runware-sdk-ws": ("RunwareError", "validation"),
                     "runware-sdk-rest": ("RunwareError", "validation"),
                     "sdk-js-ws": ("object", "unsupportedModelResolution")},
    "invalid-key": {"sdk-python-ws": ("ConnectionError", None),
                    "runware-sdk-ws": ("RunwareError", "auth"),
                    "runware-sdk-rest": ("RunwareError", "auth"),
                    "sdk-js-ws": ("object", "invalidApiKey")},
}
EXPECTED_MESSAGES = {"invalid-size": "Unsupported resolution", "invalid-key": "Invalid API key"}


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sdks_installed() -> None:
    """Install the pinned SDKs (a no-op when they are there). Skipped only when the package
    registries cannot be reached, and never in CI."""
    setup = subprocess.run(["bash", str(HERE / "setup_sdks.sh")], capture_output=True, text=True,
                           timeout=SETUP_TIMEOUT, env={**os.environ, "VIDMOCK_SDK_HOME": str(SDK_HOME)})
    if setup.returncode == 0:
        return
    report = f"setup_sdks.sh failed ({setup.returncode}):\n{setup.stdout}\n{setup.stderr[-4000:]}"
    if not os.environ.get("CI") and not _registries_reachable():
        pytest.skip("package registries unreachable, official SDKs not installed; " + report[-500:])
    pytest.fail(report)


def _registries_reachable() -> bool:
    checks = [["npm", "ping"], [sys.executable, "-m", "pip", "index", "versions", "runware-sdk"]]
    try:
        return all(subprocess.run(check, capture_output=True, timeout=60).returncode == 0 for check in checks)
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass
class MockServer:
    base_url: str

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1) + "/v1"

    def post(self, path: str, body: dict | list, key: str | None = None) -> dict:
        """The JSON reply, an error reply included (vidmock's refusals are JSON too)."""
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
        request = urllib.request.Request(self.base_url + path, data=json.dumps(body).encode(), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            return json.load(error)

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.base_url + path, timeout=10) as response:
            return json.load(response)


def serve(progression: str, log_dir: Path, *options: str) -> Iterator[MockServer]:
    """``vidmock serve --port 0`` in a subprocess (plus ``options``, e.g. ``--results staggered``),
    until the fixture ends."""
    yield from run_vidmock(["serve", "--api-key", KEY, "--api-key", DROP_KEY, "--progression", progression, *options],
                           log_dir / f"vidmock-{progression.replace(':', '-')}.log")


def run_vidmock(args: list[str], log: Path) -> Iterator[MockServer]:
    """``vidmock COMMAND --port 0 ARGS`` in a subprocess until the fixture ends; stderr goes to ``log``."""
    stderr = open(log, "w")
    process = subprocess.Popen([sys.executable, "-m", "mockserver", args[0], "--port", "0", *args[1:]],
                               stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        line = process.stdout.readline()  # "vidmock [proxy ]serving on http://HOST:PORT"
        if " serving on http://" not in line:
            process.kill()
            pytest.fail(f"vidmock {args[0]} did not start: {line!r}, see {stderr.name}")
        yield MockServer(line.split()[-1])
    finally:
        process.terminate()
        process.wait(timeout=10)
        stderr.close()


@pytest.fixture(scope="session")
def server(sdks_installed, tmp_path_factory) -> Iterator[MockServer]:
    """Tasks finish as soon as their video is rendered: every client stays fast."""
    yield from serve("immediate", tmp_path_factory.mktemp("immediate"))


@pytest.fixture(scope="session")
def slow_server(sdks_installed, tmp_path_factory) -> Iterator[MockServer]:
    """Tasks answer "processing" to their first two polls: a drop lands mid-poll."""
    yield from serve("polls:2", tmp_path_factory.mktemp("polls"))


# -- helpers ----------------------------------------------------------------------------------


def run_client(sdk: str, scenario: str, server: MockServer, key: str = KEY,
               options: tuple[str, ...] = ()) -> tuple[dict, float]:
    """The client's outcome line and its wall time."""
    env = {**os.environ, "VIDMOCK_WS_URL": server.ws_url, "VIDMOCK_HTTP_URL": server.base_url + "/v1",
           "VIDMOCK_API_KEY": key, "VIDMOCK_SDK_HOME": str(SDK_HOME)}
    started = time.monotonic()
    completed = subprocess.run(client_command(sdk, scenario, options), capture_output=True, text=True, env=env,
                               timeout=CLIENT_TIMEOUT + 30, cwd=CLIENTS)
    elapsed = time.monotonic() - started
    assert completed.returncode == 0, f"{sdk} {scenario} script failed:\n{completed.stdout}\n{completed.stderr[-4000:]}"
    lines = completed.stdout.strip().splitlines()
    assert lines, f"{sdk} {scenario} printed nothing:\n{completed.stderr[-4000:]}"
    return json.loads(lines[-1]), elapsed


def assert_generated_video(outcome: dict) -> None:
    """One result whose videoURL serves a 1280x720, 30 fps, 60-frame video."""
    assert outcome["ok"], outcome
    [result] = outcome["results"]
    assert result["status"] == "success" and result["videoUUID"] and result["cost"] > 0, result
    with tempfile.NamedTemporaryFile(suffix=".mp4") as file:
        with urllib.request.urlopen(result["videoURL"], timeout=30) as response:
            shutil.copyfileobj(response, file)
        file.flush()
        with av.open(file.name) as container:
            stream = container.streams.video[0]
            frames = sum(1 for _ in container.decode(stream))
            assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
            assert stream.average_rate == 30
            assert frames == 60


# -- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["t2v", "i2v"])
@pytest.mark.parametrize("sdk", SDKS)
def test_sdk_generates_a_video(sdk, scenario, server, record_property):
    outcome, elapsed = run_client(sdk, scenario, server)
    record_property("seconds", round(elapsed, 2))
    assert_generated_video(outcome)


@pytest.mark.parametrize("scenario", ["invalid-size", "invalid-key"])
@pytest.mark.parametrize("sdk", SDKS)
def test_sdk_raises_its_own_exception_for_a_rejected_request(sdk, scenario, server, record_property):
    outcome, elapsed = run_client(sdk, scenario, server)
    record_property("seconds", round(elapsed, 2))
    assert not outcome["ok"], outcome
    assert (outcome["error_class"], outcome["code"]) == EXPECTED_ERRORS[scenario][sdk], outcome
    assert EXPECTED_MESSAGES[scenario] in outcome["message"], outcome


# What each SDK surfaces of the live error item (no taskType; parameter a list for a size):
# (field of the outcome holding it, parameter as surfaced, taskType as surfaced).
SURFACED = {"sdk-python-ws": ("error", ["width", "height"], None),  # RunwareAPIError.error_data: the item as sent
            "runware-sdk-ws": ("exception", "width", "videoInference"),  # the first name; taskType from its request
            "runware-sdk-rest": ("exception", "width", "videoInference"),
            "sdk-js-ws": ("error", ["width", "height"], None)}  # the rejected {error: item}


@pytest.mark.parametrize("sdk", SDKS)
def test_sdk_surfaces_the_refused_tasks_uuid_and_parameter_from_the_live_error_item(sdk, server, record_property):
    """The refusal in the live shape (no taskType, ``{"data": [], ...}`` over REST) still reaches
    the caller with its taskUUID and parameter: the SDKs route by taskUUID, none needs taskType."""
    outcome, elapsed = run_client(sdk, "invalid-size", server)
    record_property("seconds", round(elapsed, 2))
    where, parameter, task_type = SURFACED[sdk]
    if where == "error":
        item = outcome["error"]
        assert (item["parameter"], item.get("taskType"), item["allowedValues"][0]) == (parameter, task_type, "1280x720")
        task_uuid = item["taskUUID"]
    else:
        assert (outcome["parameter"], outcome["task_type"]) == (parameter, task_type), outcome
        task_uuid = outcome["task_uuid"]
    submitted = [task["taskUUID"] for entry in server.get("/__mock/journal")["entries"] for task in entry["tasks"] or []
                 if task.get("taskType") == "videoInference"]
    assert task_uuid in submitted, (task_uuid, submitted)


@pytest.mark.parametrize("how", ["close1011", "abort"])
@pytest.mark.parametrize("sdk", WEBSOCKET_SDKS)
def test_sdk_survives_a_dropped_socket_mid_poll(sdk, how, slow_server, record_property):
    """The socket dies right after the first getResponse reaches the mock (its reply is lost or
    kept for a resume); the SDK must reconnect and still return the video."""
    before = slow_server.get("/__mock/health")["websocket"]["dropped_sockets"]
    slow_server.post("/__mock/ws/drop", {"apiKey": DROP_KEY, "how": how, "on": "getResponse"})
    outcome, elapsed = run_client(sdk, "drop", slow_server, key=DROP_KEY)
    record_property("seconds", round(elapsed, 2))
    assert slow_server.get("/__mock/health")["websocket"]["dropped_sockets"] > before, "the drop never fired"
    assert_generated_video(outcome)

"""A user's test suite on the ``vidmock`` fixture, written to a folder and run with pytest: each test
submits one of a few distinct seeded videos, polls it, downloads it and its poster, checks its
journal, and writes what it saw to ``$SUITE_OUT``, where each session also writes its server's
synthesizer counters (what was rendered). Run by ``tests/conformance/test_plugin.py`` (and by
``benchmarks/plugin_cache.py`` at commit 11f2cd6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SPECS = ((1280, 720, 2), (720, 1280, 3), (960, 960, 2), (1920, 1080, 5), (1280, 720, 5))  # width, height, s

CONFTEST = '''
import json, os, pathlib, urllib.request
import pytest
from conformance.mock import harness_config

OUT = pathlib.Path(os.environ["SUITE_OUT"])


@pytest.fixture(scope="session")
def vidmock_config(vidmock_config):
    """The plugin's settings, changed the way a user's conftest changes them."""
    changes = {"progression": os.environ.get("SUITE_PROGRESSION", "immediate")}
    return harness_config(vidmock_config, **changes)


@pytest.fixture(scope="session", autouse=True)
def synthesizer_counters(vidmock_server):
    yield
    with urllib.request.urlopen(vidmock_server + "/__mock/health") as reply:
        health = json.load(reply)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (OUT / f"stats-{worker}.json").write_text(json.dumps({"server": vidmock_server, **health["synthesizer"]}))
'''

TESTS = '''
import json, os, pathlib, time, uuid
import pytest

OUT = pathlib.Path(os.environ["SUITE_OUT"])
SPECS = {specs!r}


@pytest.mark.parametrize("n", range({count}))
def test_one_video(vidmock, n):
    width, height, duration = SPECS[n % len(SPECS)]
    task = {{"taskType": "videoInference", "taskUUID": str(uuid.uuid4()), "model": "alibaba:wan@2.7",
            "positivePrompt": f"test {{n}}", "width": width, "height": height, "duration": duration,
            "seed": 1000 + n % len(SPECS)}}
    status, body = vidmock.post([task])
    assert (status, body["data"]) == (200, [{{"taskType": "videoInference", "taskUUID": task["taskUUID"]}}])
    polls = 0
    while True:
        polls += 1
        _, reply = vidmock.poll(task["taskUUID"])
        if reply["data"][0]["status"] != "processing":
            break
        time.sleep(0.05)
    result = reply["data"][0]
    assert result["status"] == "success" and result["seed"] == task["seed"]
    status, headers, video = vidmock.get(result["videoURL"])
    assert status == 200 and headers["Content-Type"] == "video/mp4" and len(video) > 1000
    status, headers, poster = vidmock.get(result["videoURL"].rsplit(".", 1)[0] + ".jpg")
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    journal = vidmock.journal()
    assert {{entry["namespace"] for entry in journal}} == {{vidmock.api_key}}  # this test's requests only
    assert len(journal) == 1 + polls
    policy = vidmock.call("GET", "tasks/" + task["taskUUID"])["policy"]
    record = {{"n": n, "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "server": vidmock.base_url,
              "key": vidmock.api_key, "polls": polls, "journal": len(journal), "bytes": len(video),
              "policy": policy}}
    (OUT / f"test-{{n}}.json").write_text(json.dumps(record))
'''


def write_suite(folder: Path, count: int = 50, specs: tuple = SPECS) -> Path:
    """Write the suite (conftest, one parametrized test file, a pytest.ini) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pytest.ini").write_text("[pytest]\n")  # its own rootdir: no settings of the folder above
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_videos.py").write_text(TESTS.format(count=count, specs=tuple(specs)))
    return folder


@dataclass
class SuiteRun:
    returncode: int
    output: str
    tests: list[dict]  # what each test saw
    sessions: list[dict]  # each session's (worker's) synthesizer counters

    def total(self, counter: str) -> int:
        """A synthesizer counter summed over the servers (sessions sharing one server count it once)."""
        per_server = {session["server"]: session[counter] for session in self.sessions}
        return sum(per_server.values())


def run_suite(folder: Path, *pytest_args: str, env: dict[str, str] | None = None, timeout: float = 600) -> SuiteRun:
    """``python -m pytest`` in ``folder`` (with ``pytest_args``, e.g. ``-n 2``); what it reported."""
    out = folder / "out"
    if out.exists():
        for old in out.iterdir():
            old.unlink()
    out.mkdir(exist_ok=True)
    # Not an xdist worker of the suite running this: the nested run has workers of its own, or none.
    outer = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_XDIST_")}
    environment = {**outer, **(env or {}), "SUITE_OUT": str(out)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args],
                          cwd=folder, env=environment, capture_output=True, text=True, timeout=timeout)
    read = lambda pattern: [json.loads(path.read_text()) for path in sorted(out.glob(pattern))]  # noqa: E731
    return SuiteRun(done.returncode, done.stdout + done.stderr, read("test-*.json"), read("stats-*.json"))

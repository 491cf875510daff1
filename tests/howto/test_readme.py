"""The README's quick start, done as a reader does it: its ``vidmock serve``, then its shell blocks
with bash, as they are written. The one change is the port: the server gets a free one through
``VIDMOCK_PORT`` (8765 may be taken), and the blocks' ``127.0.0.1:8765`` becomes that address.

The blocks a reader pastes are marked in the README with an HTML comment ``<!-- quickstart``
before their fence, so a new or changed block is run too, and the README cannot drift.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import av
import pytest

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
MARK = "<!-- quickstart"
WRITTEN_ORIGIN = "127.0.0.1:8765"
FENCED = re.compile(r"```bash\n(.*?)```", re.S)
BIN = str(Path(sys.executable).parent)  # where pip put vidmock (and python3) for this interpreter

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the quick start uses curl")


def quickstart_blocks() -> list[str]:
    """The shell blocks right after a quick-start mark, in order."""
    blocks = []
    for part in README.split(MARK)[1:]:
        fenced = FENCED.search(part)
        assert fenced and part[:fenced.start()].count("\n") == 1, "a quick-start mark must sit just above a ```bash block"
        blocks.append(fenced.group(1))
    return blocks


def install_and_serve() -> list[str]:
    """The commands of the quick start's first block (comments dropped)."""
    section = README.split("## Quick start", 1)[1]
    return [line.split("#", 1)[0].strip() for line in FENCED.search(section).group(1).splitlines()]


def shell_env(**extra: str) -> dict[str, str]:
    """The reader's shell: the installed commands first on PATH, no VIDMOCK_* left over."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("VIDMOCK_")}
    return {**inherited, "PATH": BIN + os.pathsep + os.environ.get("PATH", ""), **extra}


@pytest.fixture
def readme_server():
    """The README's serve command, on a free port: its base URL."""
    serve = install_and_serve()[1]
    process = subprocess.Popen(["bash", "-c", serve], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=shell_env(VIDMOCK_PORT="0"), start_new_session=True)
    line = process.stdout.readline()
    match = re.fullmatch(r"vidmock serving on (http://127\.0\.0\.1:\d+)\n", line)
    try:
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        yield match.group(1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def run_quickstart(base_url: str) -> list[str]:
    """Every marked block, in one bash, as a reader pasting them into one shell: its stdout lines."""
    script = "".join(quickstart_blocks()).replace(WRITTEN_ORIGIN, base_url.removeprefix("http://"))
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, env=shell_env())
    assert done.returncode == 0 and done.stderr == "", done
    return done.stdout.splitlines()


def test_the_quick_start_installs_and_serves_with_two_commands():
    assert install_and_serve() == ['pip install -e ".[test]"', "vidmock serve"]
    assert len(quickstart_blocks()) == 2
    assert all(WRITTEN_ORIGIN in block for block in quickstart_blocks())
    assert "Python >= 3.11" in README.split("## Quick start", 1)[1].split("```", 1)[0]


def test_the_quick_start_gives_the_video_it_promises_every_time_it_is_pasted(readme_server, tmp_path):
    runs = [run_quickstart(readme_server) for _ in range(2)]
    task_uuids = []
    for lines in runs:
        ack, result = json.loads(lines[0]), json.loads(lines[-1])
        assert len(lines) == 2, lines
        task_uuid = ack["data"][0]["taskUUID"]
        assert ack == {"data": [{"taskType": "videoInference", "taskUUID": task_uuid}]}
        item = result["data"][0]
        assert (item["taskUUID"], item["status"], item["cost"]) == (task_uuid, "success", 0.20085)
        assert item["videoURL"].startswith(readme_server + "/media/") and item["videoURL"].endswith(".mp4")
        task_uuids.append(task_uuid)
    assert task_uuids[0] != task_uuids[1]  # a fresh taskUUID per run: no conflictTaskUUID the second time

    # "a real 1280x720, 30 fps, 60-frame H.264/AAC MP4"
    video = tmp_path / "fox.mp4"
    video.write_bytes(urllib.request.urlopen(item["videoURL"], timeout=30).read())
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        assert (stream.codec_context.name, stream.width, stream.height, stream.average_rate) == ("h264", 1280, 720, 30)
        assert frames == 60 and container.streams.audio[0].codec_context.name == "aac"

    # every request of the quick start was JSON, as the README says
    with urllib.request.urlopen(readme_server + "/__mock/journal?apiKey=any-key", timeout=10) as response:
        entries = json.load(response)["entries"]
    assert len(entries) >= 4 and all(entry["headers"]["Content-Type"] == "application/json" for entry in entries)
    assert all(entry["response"]["status"] == 200 and entry["valid"] for entry in entries)

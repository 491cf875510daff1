"""Server fixtures: real vidmock servers on 127.0.0.1 (AppRunner + TCPSite on port 0).

Each server gets its own data dir, but all share one synthesizer cache for the session (as their
``cache_dir``, and as the data dir's per-run cache, where videos of drawn seeds go), so a video
rendered by one test is a cache hit for the next, and no test writes to the user's cache folder.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
import uuid
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from conformance.client import MockClient
from mockserver.app import RunningServer, start_server
from mockserver.config import ServerConfig
from mockserver.jobs import Progression

# No test may reach Runware: a proxy under VIDMOCK_OFFLINE refuses any upstream that is not loopback.
os.environ["VIDMOCK_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parent.parent
MODEL = "alibaba:wan@2.7"
KEY = "test-key"  # the API key of the ``api`` fixture


@pytest.fixture(scope="session")
def synth_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("synth-cache")


@pytest.fixture
async def make_server(tmp_path_factory, synth_cache):
    """``await make_server(clock=..., progression="polls:2", api_keys=("k",), ...)``."""
    running: list[RunningServer] = []

    async def make(clock=None, **settings) -> RunningServer:
        if isinstance(settings.get("progression"), str):
            settings["progression"] = Progression.parse(settings["progression"])
        data_dir = tmp_path_factory.mktemp("data")
        (data_dir / "cache").symlink_to(synth_cache, target_is_directory=True)
        config = ServerConfig(**{"port": 0, "seed": 1234, "data_dir": data_dir, "cache_dir": synth_cache, **settings})
        server = await start_server(config, clock=clock)
        running.append(server)
        return server

    yield make
    for server in running:
        await server.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def server(make_server) -> RunningServer:
    return await make_server()


@pytest.fixture
def api(server, http) -> MockClient:
    """The mocked API and the control plane of ``server``, as the test's key."""
    return MockClient(server.base_url, KEY, session=http)


@pytest.fixture
def control(api) -> MockClient:
    return api


def new_uuid() -> str:
    return str(uuid.uuid4())


def video_task(**fields) -> dict:
    """A small valid text-to-video task (720p, 2 s: fast to render)."""
    task = {"taskType": "videoInference", "taskUUID": new_uuid(), "model": MODEL,
            "positivePrompt": "a red fox in the snow", "width": 1280, "height": 720, "duration": 2}
    task.update(fields)
    return task


def png_bytes(width: int, height: int, colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def data_uri(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


@dataclass(frozen=True)
class BuiltWheel:
    path: Path  # the .whl file
    site: Path  # its contents, unpacked as pip would install them


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory) -> BuiltWheel:
    """The wheel of this source tree, built offline with setuptools' backend (once a session)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    for package in ("mockserver", "conformance", "schemas"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    build = subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta; "
                            "print(build_meta.build_wheel(sys.argv[1]))", str(root / "dist")],
                           cwd=source, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    wheel = root / "dist" / build.stdout.split()[-1]
    site = root / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return BuiltWheel(wheel, site)

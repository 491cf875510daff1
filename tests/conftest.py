"""Server fixtures: real vidmock servers on 127.0.0.1 (AppRunner + TCPSite on port 0), and how the
suite is laid out over pytest-xdist workers (docs/testing.md).

Each server gets its own data dir, but all share one render cache (``cache_dir``) kept between runs
outside the work tree (``$VIDMOCK_TEST_CACHE/render``, default ``~/.cache/vidmock-tests``), so a
video rendered once is a cache hit for every later test and run, and no test writes to the user's
own cache folder. Videos of drawn seeds (the data dir's per-run cache) go to a folder of this run
that its workers share: they never repeat, so keeping them would only grow the cache. Tests about
rendering itself (tests/server/test_synth.py, test_render_cache.py) give a fresh folder.

Nothing a run writes lands in the work tree: pytest's cache and hypothesis' example database go
under ``$VIDMOCK_TEST_CACHE`` too (set here, before either is read); schemathesis and ``vidmock
check`` run in a test's temporary folder.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
import uuid
from pathlib import Path

import aiohttp
import pytest
from filelock import FileLock
from PIL import Image
from platformdirs import user_cache_path

from conformance.client import MockClient, Namespace
from conformance.mock import BackgroundMock
from mockserver.app import RunningServer, start_server
from mockserver.config import ServerConfig
from mockserver.jobs.store import Progression

# No test may reach Runware: a proxy under VIDMOCK_OFFLINE refuses any upstream that is not loopback.
os.environ["VIDMOCK_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parent.parent
# What the suite keeps between runs, outside the work tree (subprocesses inherit the variables).
TEST_CACHE = Path(os.environ.setdefault("VIDMOCK_TEST_CACHE", str(user_cache_path("vidmock-tests"))))
# pytest's own cache (pyproject's cache_dir names this variable), one per checkout: --lf stays per tree.
os.environ.setdefault("VIDMOCK_TEST_PYTEST_CACHE",
                      str(TEST_CACHE / "pytest" / hashlib.sha256(str(REPO).encode()).hexdigest()[:12]))
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(TEST_CACHE / "hypothesis"))
# Python's bytecode, pytest's assertion-rewritten modules among it, kept between runs under the
# test cache (as .ci/run does), even where the environment says PYTHONDONTWRITEBYTECODE: without
# it every worker and every vidmock/client subprocess compiles from source again (pytest rewrites
# all of hypothesis, a pytest11 plugin's distribution, in each worker): collection took 6.5 s of
# CPU per process instead of 2.3 s. Set before the workers and subprocesses start, which inherit it.
os.environ.setdefault("PYTHONPYCACHEPREFIX", str(TEST_CACHE / "pycache"))
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.pycache_prefix, sys.dont_write_bytecode = os.environ["PYTHONPYCACHEPREFIX"], False
MODEL = "alibaba:wan@2.7"
KEY = "test-key"  # the API key of the ``api`` fixture


@pytest.fixture(scope="session")
def synth_cache() -> Path:
    """The render cache every test server shares, kept between runs."""
    cache = TEST_CACHE / "render"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    """A folder of this run that all its xdist workers share (each worker's basetemp is inside it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def run_scratch(run_dir) -> Path:
    """Where the test servers' videos of drawn seeds go, for the run."""
    scratch = run_dir / "drawn-seeds"
    scratch.mkdir(exist_ok=True)
    return scratch


def once_per_run(run_dir: Path, name: str, make: Callable[[Path], None]) -> Path:
    """``run_dir/name``, filled by ``make(folder)`` in whichever worker asks first; the others wait
    for it and reuse it: a dear fixture is built once per run, as without workers."""
    folder = run_dir / name
    with FileLock(f"{folder}.lock"):
        if not (run_dir / f"{name}.done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (run_dir / f"{name}.done").touch()
    return folder


def server_config(tmp_path_factory, synth_cache: Path, run_scratch: Path, **settings) -> ServerConfig:
    """A test server's settings: its own data dir, the kept render cache, ``settings`` on top."""
    if isinstance(settings.get("progression"), str):
        settings["progression"] = Progression.parse(settings["progression"])
    data_dir = tmp_path_factory.mktemp("data")
    (data_dir / "cache").symlink_to(run_scratch, target_is_directory=True)
    return ServerConfig(**{"port": 0, "seed": 1234, "data_dir": data_dir, "cache_dir": synth_cache, **settings})


@pytest.fixture
async def make_server(tmp_path_factory, synth_cache, run_scratch):
    """A fresh server per call, stopped after the test: for a test that needs its own settings or
    clock, or that inspects global state (``server.app``, every key's journal, server-wide settings).
    ``await make_server(clock=..., progression="polls:2", api_keys=("k",), ...)``."""
    running: list[RunningServer] = []

    async def make(clock=None, **settings) -> RunningServer:
        server = await start_server(server_config(tmp_path_factory, synth_cache, run_scratch, **settings), clock=clock)
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
    """A fresh server with the default settings (see ``make_server``)."""
    return await make_server()


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory, synth_cache, run_scratch) -> Iterator[str]:
    """Base URL of this worker's server for tests that see it only through their own key, as
    conformance/plugin.py serves a user's tests: default settings, on its own loop in a thread."""
    with BackgroundMock(server_config(tmp_path_factory, synth_cache, run_scratch)) as mock:
        yield mock.base_url


@pytest.fixture
def api(request, http) -> Iterator[MockClient]:
    """The mocked API and the control plane as the test's key. With ``server`` (or ``make_server``)
    among the test's fixtures: that fresh server, as ``KEY``. Without: the worker's shared server,
    as a fresh key, the test's namespace (its tasks, journal, faults, deliveries), reset after it."""
    if {"server", "make_server"} & set(request.fixturenames):
        yield MockClient(request.getfixturevalue("server").base_url, KEY, session=http)
        return
    base_url, key = request.getfixturevalue("shared_server"), f"test-{uuid.uuid4()}"
    yield MockClient(base_url, key, session=http)
    Namespace(base_url, key).reset()


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
def built_wheel(run_dir) -> BuiltWheel:
    """The wheel of this source tree, built offline with setuptools' backend (once a run)."""
    root = once_per_run(run_dir, "wheel", build_wheel)
    [wheel] = (root / "dist").glob("*.whl")
    return BuiltWheel(wheel, root / "site")


def build_wheel(root: Path) -> None:
    """Build the wheel into ``root/dist`` and unpack it into ``root/site``."""
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
    with zipfile.ZipFile(root / "dist" / build.stdout.split()[-1]) as archive:
        archive.extractall(root / "site")


# --- How the suite is spread over pytest-xdist workers (``--dist loadgroup``, pyproject's addopts) ---

# The marks of the slow kinds, weighed: heavier items start first (an SDK's exploration, slow and
# sdk, before all), so the run ends on short items spread over every worker rather than on one
# long item started last.
WEIGHTS = {"slow": 4, "sdk": 2, "bench": 1, "browser": 1}


def _rank(item: pytest.Item) -> int:
    return -sum(WEIGHTS.get(name, 0) for name in {mark.name for mark in item.iter_markers()})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: collection order within a rank

"""The pytest plugin (entry point ``pytest11``): a running vidmock as a fixture.

One server per test session (per worker under pytest-xdist), started in a background thread with
its own event loop, so sync and async tests alike can use it; each test gets its own API key,
which is its namespace: tasks, journal, faults and deliveries of one test are invisible to the
others, and are reset afterwards.

    def test_my_client(vidmock):
        run_my_client(url=vidmock.http_url, api_key=vidmock.api_key)
        vidmock.assert_conforms()

The server's settings come from the ``vidmock_config`` fixture, which a conftest overrides (the
way pytest-httpserver's ``httpserver_listen_address`` is overridden)::

    @pytest.fixture(scope="session")
    def vidmock_config(vidmock_config):
        return harness_config(vidmock_config, progression="polls:2")

Rendered videos go to a render cache shared by every worker and kept between runs (the user's
cache folder; ``--vidmock-cache-dir DIR|none``), so a video is rendered once, not once per worker
or per run. ``--vidmock-host/--vidmock-port`` (or ``VIDMOCK_EXTERNAL_URL=http://host:port``) use a
server that is already running instead. See docs/conformance.md (tests/howto/ runs its how-tos).

Its waits (``vidmock.wait_done``, ``wait_task``, the deliveries ``violations`` waits for) are the
client's: long-polls of ``/__mock/tasks/{taskUUID}/wait`` and ``/__mock/deliveries/wait``, which
answer as the job or the delivery ends, rather than polls on a timer.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from conformance.client import Namespace
from conformance.mock import BackgroundMock, harness_config
from conformance.report import failed, text_report
from conformance.rules import Traffic, evaluate
from mockserver.config import BY_ATTRIBUTE, NO_CACHE, ServerConfig

EXTERNAL_URL_ENV = "VIDMOCK_EXTERNAL_URL"
CACHE_DIR = BY_ATTRIBUTE["cache_dir"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vidmock", "vidmock mock server")
    group.addoption("--vidmock-host", help="use the vidmock already serving on this host (with --vidmock-port)")
    group.addoption("--vidmock-port", type=int, help="port of that server (default 8765)")
    group.addoption("--vidmock-cache-dir", metavar="DIR",
                    help=f"render cache of the session's server, shared by xdist workers: a folder, 'user' (the "
                         f"user's cache folder) or 'none' (this run only); default {CACHE_DIR.env}, else 'user'")


def _external_url(config: pytest.Config) -> str | None:
    host, port = config.getoption("--vidmock-host"), config.getoption("--vidmock-port")
    if host or port:
        return f"http://{host or '127.0.0.1'}:{port or 8765}"
    return os.environ.get(EXTERNAL_URL_ENV) or None


def _cache_dir(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path | str:
    """The render cache: the option, else ``VIDMOCK_CACHE_DIR``, else the user's cache folder.
    ``none`` is a folder of this run's temporary directory that every xdist worker shares."""
    given = config.getoption("--vidmock-cache-dir")
    cache_dir = harness_config().cache_dir if given is None else CACHE_DIR.parse(given)
    if cache_dir != NO_CACHE:
        return cache_dir
    run_dir = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # each worker's basetemp is a folder of the run's
        run_dir = run_dir.parent
    return run_dir / "vidmock-cache"


class Vidmock(Namespace):
    """One test's namespace on the session server (see ``conformance.client.Namespace``)."""

    def violations(self, rules: Iterable[str] | None = None) -> dict:
        """``{rule: [violations]}`` over this namespace's journal and deliveries."""
        return evaluate(Traffic(self.journal(), self.settle_deliveries()), rules)

    def assert_conforms(self, rules: Iterable[str] | None = None) -> None:
        """Fail the test with the readable report if the client broke any (selected) rule."""
        results = self.violations(rules)
        if failed(results):
            pytest.fail(text_report(results), pytrace=False)


@pytest.fixture(scope="session")
def vidmock_config(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> ServerConfig:
    """The settings the session's server starts with (``mockserver.config.ServerConfig``; unused
    with an external server). Override it in a conftest, session-scoped, to change them; keep
    ``port=0`` under pytest-xdist, where each worker starts its own server."""
    return harness_config(cache_dir=_cache_dir(pytestconfig, tmp_path_factory))


@pytest.fixture(scope="session")
def vidmock_server(pytestconfig: pytest.Config, vidmock_config: ServerConfig) -> Iterator[str]:
    """Base URL (``http://host:port``) of the session's server: an external one, or one started here."""
    external = _external_url(pytestconfig)
    if external:
        yield external.rstrip("/")
        return
    with BackgroundMock(vidmock_config) as mock:
        yield mock.base_url


@pytest.fixture
def vidmock(vidmock_server: str) -> Iterator[Vidmock]:
    """The mock, seen through a fresh API key: URLs, key, journal, faults, assert_conforms()."""
    session = Vidmock(vidmock_server, f"test-{uuid.uuid4()}")
    yield session
    session.reset()

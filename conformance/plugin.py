"""The pytest plugin (entry point ``pytest11``): a running vidmock as a fixture.

One server per test session, started in a background thread with its own event loop, so sync and
async tests alike can use it; each test gets its own API key, which is its namespace: tasks,
journal, faults and deliveries of one test are invisible to the others, and are reset afterwards.

    def test_my_client(vidmock):
        run_my_client(url=vidmock.http_url, api_key=vidmock.api_key)
        vidmock.assert_conforms()

``--vidmock-host/--vidmock-port`` (or ``VIDMOCK_EXTERNAL_URL=http://host:port``) use a server that
is already running instead. See docs/conformance.md for the how-tos (tests/howto/ runs them).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator

import pytest

from conformance.client import Namespace
from conformance.mock import BackgroundMock
from conformance.report import failed, text_report
from conformance.rules import Traffic, evaluate

EXTERNAL_URL_ENV = "VIDMOCK_EXTERNAL_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vidmock", "vidmock mock server")
    group.addoption("--vidmock-host", help="use the vidmock already serving on this host (with --vidmock-port)")
    group.addoption("--vidmock-port", type=int, help="port of that server (default 8765)")


def _external_url(config: pytest.Config) -> str | None:
    host, port = config.getoption("--vidmock-host"), config.getoption("--vidmock-port")
    if host or port:
        return f"http://{host or '127.0.0.1'}:{port or 8765}"
    return os.environ.get(EXTERNAL_URL_ENV) or None


class Vidmock(Namespace):
    """One test's namespace on the session server (see ``conformance.mock.Namespace``)."""

    def violations(self, rules: Iterable[str] | None = None) -> dict:
        """``{rule: [violations]}`` over this namespace's journal and deliveries."""
        return evaluate(Traffic(self.journal(), self.settle_deliveries()), rules)

    def assert_conforms(self, rules: Iterable[str] | None = None) -> None:
        """Fail the test with the readable report if the client broke any (selected) rule."""
        results = self.violations(rules)
        if failed(results):
            pytest.fail(text_report(results), pytrace=False)


@pytest.fixture(scope="session")
def vidmock_server(pytestconfig: pytest.Config) -> Iterator[str]:
    """Base URL (``http://host:port``) of the session's server: an external one, or one started here."""
    external = _external_url(pytestconfig)
    if external:
        yield external.rstrip("/")
        return
    with BackgroundMock() as mock:
        yield mock.base_url


@pytest.fixture
def vidmock(vidmock_server: str) -> Iterator[Vidmock]:
    """The mock, seen through a fresh API key: URLs, key, journal, faults, assert_conforms()."""
    session = Vidmock(vidmock_server, f"test-{uuid.uuid4()}")
    yield session
    session.reset()

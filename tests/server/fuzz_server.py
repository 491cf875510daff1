"""The one ``vidmock serve`` process each fuzz module throws input at, and the check that it
never printed a traceback. Shared by tests/test_fuzz_rest.py and tests/test_fuzz_ws.py."""

from __future__ import annotations

import os

import jsonschema
import pytest
from hypothesis import HealthCheck, settings

from benchmarks.serverproc import start_vidmock
from mockserver.contract import response_schema

MAX_BODY_MB = 0.25  # a small body limit, so oversized bodies are cheap to send
LIMIT = int(MAX_BODY_MB * 1024 * 1024)
EXPLORE = os.environ.get("VIDMOCK_FUZZ_EXPLORE") == "1"  # random seeds and 10x the examples
ENVELOPE = jsonschema.Draft7Validator(response_schema("envelope"))
ERROR = jsonschema.Draft7Validator(response_schema("error"))


def fuzz_settings(examples: int) -> settings:
    """Deterministic examples by default; ``VIDMOCK_FUZZ_EXPLORE=1`` for random seeds and 10x more."""
    return settings(max_examples=examples * 10 if EXPLORE else examples, deadline=None, derandomize=not EXPLORE,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def server():
    process = start_vidmock("--max-body-mb", str(MAX_BODY_MB), "--progression", "manual", "--seed", "3")
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def no_traceback_after_each_test(server):
    """Only what this test added to stderr counts: one failure must not fail every later test."""
    before = len(server.stderr_text())
    yield
    added = server.stderr_text()[before:]
    assert "Traceback" not in added, added[-4000:]

"""The official SDKs under the behaviours seen live, as docs/clients.md's table shows them: a
credits refusal whose polls answer processing (as reported), a failed upload of a first frame, a
transient read error on the first poll, videos a few pixels and frames off the request.

Each run is ``vidmock check --scenario NAME`` over the SDK's client script in strict mode (exit 1
when the SDK raised: what an application built on it would do), under ``--progression
immediate``, the matrix's setting: the cells are the matrix rows of these scenarios, and
upload-failed runs image to video too (text to video never meets it).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from test_sdk_explore import CHECK_TIMEOUT, STRICT_ENV
from test_sdks import SDKS, client_command, sdks_installed  # noqa: F401

pytestmark = pytest.mark.sdk

# (scenario, client mode) -> the SDKs that do NOT survive it (vidmock check exits 1).
LIVE_FAILURES = {
    ("credits-exhausted", "t2v"): set(),
    ("upload-failed", "i2v"): set(),
    ("read-error-once", "t2v"): {"sdk-python-ws", "runware-sdk-ws", "sdk-js-ws"},  # raise the poll's error
    ("inexact-media", "t2v"): set(),
}


@pytest.mark.parametrize("sdk", SDKS)
@pytest.mark.parametrize("scenario, mode", list(LIVE_FAILURES), ids=[f"{s}-{m}" for s, m in LIVE_FAILURES])
def test_each_sdk_under_the_live_scenarios(sdks_installed, sdk, scenario, mode):  # noqa: F811
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "check", "--timeout", CHECK_TIMEOUT, "--progression", "immediate",
         "--scenario", scenario, "--", *client_command(sdk, mode)],
        capture_output=True, text=True, timeout=300, env={**os.environ, **STRICT_ENV})
    survives = sdk not in LIVE_FAILURES[(scenario, mode)]
    assert result.returncode == (0 if survives else 1), result.stdout + result.stderr

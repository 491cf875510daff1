"""The official SDKs explored by ``vidmock check --explore 25`` and ``--matrix``, as the table in
docs/clients.md shows them: what each survives, and the smallest behaviour that breaks it.

Each SDK runs through its client script in strict mode (exit 1 when the SDK raised or a result is
flagged NSFW: what an application built on it would do). The seed is fixed, so the same SDK
explores the same behaviours and shrinks to the same one; an SDK upgrade that changes what it
survives changes this table, and the test says which cell moved. The commands are the ones
docs/clients.md lists, with one subset stated there: runware-sdk over REST fails only at run 5
of seed 1 and then needs ~20 slow shrinking runs (over two minutes), so here the five behaviours
that exploration tried first run one by one (``--behaviour``; hypothesis draws another sequence
for ``--explore 5``; the first, no trouble, is the matrix's first row), then its smallest failure
by the reproduce line (the third includes its neighbour, ``reset-once``, which it survives). The errors-only exploration of the docs (``--outcomes
errors``, 100 runs, all passed) is not repeated; the matrix's provider-error, provider-timeout
and nsfw rows pin the same contract.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from test_sdks import SDKS, client_command, sdks_installed  # noqa: F401

pytestmark = [pytest.mark.sdk, pytest.mark.slow]  # slow: the longest items of the suite, started first

STRICT_ENV = {"VIDMOCK_CLIENT_STRICT": "1", "VIDMOCK_CLIENT_TIMEOUT": "20",
              # sdk-python waits this long for an ack before it resends (1 s by default in the scripts)
              "RUNWARE_VIDEO_INITIAL_TIMEOUT": "2500"}
CHECK_TIMEOUT = "30"  # seconds per run; the scripts give up after 20
YES, NO = "yes", "NO"

# --explore 25 --seed 1: the smallest failing behaviour of each SDK (docs/clients.md).
SMALLEST_FAILURE = {
    "sdk-python-ws": {"submit": [429]},
    "runware-sdk-ws": {"submit": [429]},
    "runware-sdk-rest": {"submit": ["reset-processed"]},
    "sdk-js-ws": {"submit": [429]},
}
# --matrix --outcomes all --progression immediate: the scenarios each SDK does not survive.
MATRIX_FAILURES = {
    "sdk-python-ws": {"rate-limit-once", "flaky-5xx", "unavailable-once", "ws-drop", "ws-abort", "nsfw",
                      "read-error-once"},
    "runware-sdk-ws": {"rate-limit-once", "flaky-5xx", "unavailable-once", "ws-drop", "ws-abort", "read-error-once"},
    "runware-sdk-rest": set(),
    "sdk-js-ws": {"rate-limit-once", "flaky-5xx", "unavailable-once", "ws-drop", "ws-abort", "read-error-once"},
}
SCENARIOS = ["(none)", "rate-limit-once", "flaky-5xx", "unavailable-once", "slow", "reset-once", "ws-drop",
             "ws-abort", "provider-timeout", "provider-error", "nsfw", "webhook-late", "webhook-duplicate",
             "webhook-reorder", "generation-error", "generation-results", "staggered-results",
             "credits-exhausted", "upload-failed", "read-error-once", "inexact-media"]


def vidmock_check(*options: str, sdk: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mockserver", "check", "--timeout", CHECK_TIMEOUT, *options, "--",
               *client_command(sdk, "t2v")]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, env={**os.environ, **STRICT_ENV})


def reproduce_behaviour(stdout: str) -> dict:
    [line] = [line for line in stdout.splitlines() if line.startswith("reproduce: ")]
    argv = shlex.split(line.removeprefix("reproduce: "))
    return json.loads(argv[argv.index("--behaviour") + 1])


# First in the file: the longest items of the suite, so they start first.
@pytest.mark.parametrize("sdk", SDKS)
def test_the_matrix_shows_which_scenarios_each_sdk_survives(sdks_installed, sdk):  # noqa: F811
    result = vidmock_check("--matrix", "--outcomes", "all", "--progression", "immediate", "--jobs", "3", sdk=sdk)
    table = result.stdout.split("\nscenario ", 1)[1].splitlines()[1:]
    rows = {line.split()[0]: line.split()[1] for line in table if line.strip() and ": reproduce: " not in line}
    assert list(rows) == SCENARIOS
    failed = {scenario for scenario, passed in rows.items() if passed == NO}
    assert failed == MATRIX_FAILURES[sdk], result.stdout
    assert result.returncode == (1 if failed else 0)


@pytest.mark.parametrize("sdk", [sdk for sdk in SDKS if sdk != "runware-sdk-rest"])
def test_exploration_shrinks_each_sdk_to_its_smallest_failure(sdks_installed, sdk):  # noqa: F811
    result = vidmock_check("--explore", "25", "--seed", "1", sdk=sdk)
    assert result.returncode == 1, result.stdout + result.stderr
    assert reproduce_behaviour(result.stdout) == SMALLEST_FAILURE[sdk], result.stdout
    assert "the client is flaky" not in result.stderr, result.stdout + result.stderr
    assert "the client command exited with status 1 (expected 0)" in result.stdout


# What `--explore 25 --seed 1` tries first on runware-sdk over REST after "no trouble": three
# behaviours it survives, then the fifth run, which fails (and shrinks to SMALLEST_FAILURE).
REST_EXPLORED_FIRST = [
    ({"scenarios": ["rate-limit-once"]}, True),
    ({"poll": [502], "staggered": True, "delayMs": 500, "scenarios": ["generation-results", "ws-abort"]}, True),
    ({"submit": [500], "poll": [504, "close1011"], "staggered": True, "scenarios": ["webhook-duplicate"],
      "inexactMedia": True}, True),
    ({"submit": ["reset-processed"], "poll": [429, 503], "progression": "polls:3",
      "webhook": {"delayMs": 2000, "duplicate": True, "reorder": False}, "inexactMedia": True}, False),
]


@pytest.mark.parametrize("behaviour, passes", REST_EXPLORED_FIRST, ids=[f"run{n}" for n in range(2, 6)])
def test_runware_sdk_rest_meets_the_explored_behaviours_as_before(sdks_installed, behaviour, passes):  # noqa: F811
    result = vidmock_check("--behaviour", json.dumps(behaviour), sdk="runware-sdk-rest")
    assert result.returncode == (0 if passes else 1), result.stdout + result.stderr


def test_runware_sdk_rest_fails_when_the_ack_of_a_submit_that_ran_is_lost(sdks_installed):  # noqa: F811
    """Its smallest failure of the 25-run exploration: the retry meets conflictTaskUUID and raises
    it as a validation error."""
    result = vidmock_check("--behaviour", json.dumps(SMALLEST_FAILURE["runware-sdk-rest"]), sdk="runware-sdk-rest")
    assert result.returncode == 1, result.stdout + result.stderr
    outcome = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("{")))
    assert (outcome["error_class"], outcome["code"], outcome["parameter"]) == ("RunwareError", "validation", "taskUUID")
    assert "has already been used" in outcome["message"]

"""``vidmock check --explore / --behaviour / --scenario / --matrix`` end to end, as a user runs them:
a fragile client is found and shrunk to one refusal whose reproduce line fails on its own, the
reference client survives everything, the same seed explores the same behaviours, the example
database replays a stored failure first, the outcome contract holds, and JUnit has one case per
run.

The command line runs as a subprocess where the process is what is tested (a client that never
reaches the mock, the reproduce line, the client past its timeout, the drawn seed, the database);
the other cases run the same command line in this process (``check_here``): the client is still
a process of its own, and what is asserted is the report and the exit status.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from check_support import check_here

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "conformance" / "examples"
# Reaches the mock once (a REST ping under the given key), then exits 0 whatever it met.
PING = ("import os, urllib.request as u; u.urlopen(u.Request(os.environ['VIDMOCK_HTTP_URL'], "
        "b'[{\"taskType\": \"ping\", \"ping\": true}]', {'Authorization': 'Bearer ' + os.environ['VIDMOCK_API_KEY'], "
        "'Content-Type': 'application/json'}))")
QUICK = [sys.executable, "-c", PING]
RUN_LINE = re.compile(r"^(explore|shrink|confirm|matrix)\s+(\d+)\s+(pass|FAIL)\s+[\d.]+ s\s+(.*)$")


def vidmock_check(*options: str, client: str | None = None, command: list[str] | None = None, timeout: float = 240):
    command = command or [sys.executable, str(EXAMPLES / f"{client}.py")]
    return subprocess.run([sys.executable, "-m", "mockserver", "check", *options, "--", *command],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)


def runs(stdout: str) -> list[tuple[str, str, str]]:
    """(phase, verdict, behaviour summary) per run line."""
    found = [RUN_LINE.match(line) for line in stdout.splitlines()]
    return [(match[1], match[3], match[4].split("  -> ")[0]) for match in found if match]


def matrix_rows(stdout: str) -> dict[str, str]:
    """scenario -> passed (yes/NO), from the table after the run lines."""
    table = stdout.split("\nscenario ", 1)[1].splitlines()[1:]
    return {line.split()[0]: line.split()[1] for line in table if line.strip() and ": reproduce: " not in line}


def junit_cases(path: Path) -> list[ElementTree.Element]:
    suite = ElementTree.parse(path).getroot()
    cases = list(suite.iter("testcase"))
    assert suite.get("tests") == str(len(cases))
    assert suite.get("failures") == str(sum(1 for case in cases if case.find("failure") is not None))
    return cases


def test_a_client_that_never_reaches_the_mock_fails():
    result = vidmock_check(command=["true"])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL VM010 The client reached the mock with the key it was given" in result.stdout
    assert "Nothing was recorded for the key: the client never reached the mock." in result.stdout
    assert '"entries": [], "otherEntries": []' in result.stdout
    assert "see: vidmock explain VM010" in result.stdout and "docs/conformance.md" not in result.stdout


def test_a_client_that_ignores_the_given_key_fails(capfd):
    hard_coded = PING.replace("os.environ['VIDMOCK_API_KEY']", "'my-own-key'")
    result = check_here(capfd, command=[sys.executable, "-c", hard_coded])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Nothing was recorded for the key; 1 request(s) came without it." in result.stdout


@pytest.mark.parametrize("options, message", [
    (["--progression", "manual"], "--progression manual: tasks would never finish on their own"),
    (["--scenario", "manual"], "--scenario manual: tasks would never finish on their own"),
    (["--behaviour", '{"progression": "manual"}'], "--behaviour progression manual: tasks would never finish"),
    (["--timeout", "30", "--progression", "seconds:30"],
     "--progression seconds:30: tasks would finish after 30 s, but the client may run only 30 s (--timeout)"),
])
def test_a_progression_no_client_can_finish_is_refused(options, message, capfd):
    result = check_here(capfd, *options, command=QUICK)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert result.stdout == ""  # refused before anything ran


@pytest.mark.slow  # an exploration and its shrinking (the quick tier shrinks in test_conformance_behaviours)
def test_exploration_shrinks_the_fragile_client_to_one_refusal_that_reproduces_alone(tmp_path):
    result = vidmock_check("--explore", "10", "--seed", "1", "--junit", str(tmp_path / "explore.xml"), client="gives_up")
    assert result.returncode == 1, result.stdout + result.stderr
    seen = runs(result.stdout)
    assert seen[0] == ("explore", "pass", "no trouble")  # hypothesis starts from "all is well"
    assert seen[-1] == ("confirm", "FAIL", "submits of each task: 429 (Retry-After 1 s), then served")
    assert "behaviour:\n  submits of each task: 429 (Retry-After 1 s), then served\n" in result.stdout
    assert "  | submit failed: rateLimitExceeded" in result.stdout  # the client's own last words
    [reproduce] = [line for line in result.stdout.splitlines() if line.startswith("reproduce: ")]
    argv = shlex.split(reproduce.removeprefix("reproduce: "))
    assert argv[:2] == ["vidmock", "check"]
    assert json.loads(argv[argv.index("--behaviour") + 1]) == {"submit": [429]}  # exactly one refusal

    again = subprocess.run([sys.executable, "-m", "mockserver", *argv[1:]], capture_output=True, text=True,
                           timeout=120, cwd=REPO)
    assert again.returncode == 1, again.stdout + again.stderr  # the client's own status: it gave up
    assert "submit failed: rateLimitExceeded" in again.stderr
    assert "the client command exited with status 1 (expected 0)" in again.stderr

    cases = junit_cases(tmp_path / "explore.xml")
    assert len(cases) == len(seen)  # one test case per run, the shrinking and the confirmation included
    assert [case.find("failure") is not None for case in cases] == [verdict == "FAIL" for _, verdict, _ in seen]
    assert "reproduce: vidmock check --behaviour '{\"submit\": [429]}'" in cases[-1].find("failure").text


# Not slow: the quick tier's one run of the reference client through broken connections (its retries).
def test_exploration_passes_the_reference_client_through_every_behaviour(tmp_path, capfd):
    """Transient trouble and task errors alike: it retries, polls with back-off, and exits 1
    exactly when no usable video can come."""
    result = check_here(capfd, "--explore", "6", "--seed", "3", "--outcomes", "all", "--junit", str(tmp_path / "j.xml"),
                           "--jobs", "3", client="reference_client")  # --jobs: the same report, sooner
    assert result.returncode == 0, result.stdout + result.stderr
    seen = runs(result.stdout)
    assert [(phase, verdict) for phase, verdict, _ in seen] == [("explore", "pass")] * 6
    assert "vidmock check: all 6 explored run(s) passed (seed 3)" in result.stdout
    assert "reproduce:" not in result.stdout
    assert [case.find("failure") for case in junit_cases(tmp_path / "j.xml")] == [None] * 6


@pytest.mark.slow
def test_the_same_seed_explores_the_same_behaviours():
    first, second, other = (vidmock_check("--explore", "5", "--seed", seed, command=QUICK) for seed in ("7", "7", "8"))
    assert first.returncode == second.returncode == other.returncode == 0, first.stdout + first.stderr
    assert len(runs(first.stdout)) == 5
    assert runs(first.stdout) == runs(second.stdout)
    assert runs(first.stdout) != runs(other.stdout)


@pytest.mark.slow
def test_the_database_replays_a_stored_failure_first(tmp_path):
    options = ("--explore", "10", "--database", str(tmp_path / "db"))
    found = vidmock_check(*options, "--seed", "1", client="gives_up")
    assert found.returncode == 1 and (tmp_path / "db").is_dir()
    replayed = vidmock_check(*options, "--seed", "2", client="gives_up")
    assert replayed.returncode == 1
    assert runs(replayed.stdout)[0] == ("explore", "FAIL", "submits of each task: 429 (Retry-After 1 s), then served")


def test_without_a_seed_one_is_drawn_and_printed():
    result = vidmock_check("--explore", "2", command=QUICK)
    assert result.returncode == 0, result.stdout + result.stderr
    seed = re.search(r"seed (\d+):", result.stdout)[1]
    assert f"all 2 explored run(s) passed (seed {seed})" in result.stdout


@pytest.mark.slow
def test_the_matrix_runs_each_named_scenario_once(tmp_path):
    result = vidmock_check("--matrix", "--progression", "immediate", "--jobs", "3", "--junit", str(tmp_path / "m.xml"),
                           client="gives_up")
    assert result.returncode == 1, result.stdout + result.stderr
    rows = matrix_rows(result.stdout)
    assert rows == {"(none)": "yes", "rate-limit-once": "NO", "flaky-5xx": "NO", "unavailable-once": "NO", "slow": "yes",
                    "reset-once": "NO", "ws-drop": "yes", "ws-abort": "yes", "webhook-late": "yes",
                    "webhook-duplicate": "yes", "webhook-reorder": "yes", "staggered-results": "yes",
                    "generation-error": "yes", "generation-results": "yes",  # one result: generation 1 never exists
                    "read-error-once": "NO", "inexact-media": "yes"}
    assert re.search(r"^rate-limit-once +NO +- +\(the client command exited with status 1 \(expected 0\)\)$",
                     result.stdout, re.MULTILINE)
    assert ("rate-limit-once: reproduce: vidmock check --behaviour "
            "'{\"scenarios\": [\"rate-limit-once\"]}' -- ") in result.stdout
    cases = junit_cases(tmp_path / "m.xml")
    assert [case.get("name") for case in cases] == list(rows)  # one case per cell
    assert [case.find("failure") is not None for case in cases] == [verdict == "NO" for verdict in rows.values()]


@pytest.mark.slow  # a --matrix run of every task error
def test_the_matrix_of_task_errors_expects_the_client_to_fail(capfd):
    result = check_here(capfd, "--matrix", "--outcomes", "errors", "--progression", "immediate", "--jobs", "3",
                           client="reference_client")
    assert result.returncode == 0, result.stdout + result.stderr  # a video for "(none)", exit 1 for the rest
    assert matrix_rows(result.stdout) == {"(none)": "yes", "provider-timeout": "yes", "provider-error": "yes", "nsfw": "yes",
                                          "credits-exhausted": "yes", "upload-failed": "yes"}  # text to video: no upload


@pytest.mark.parametrize("behaviour", ['{"outcome": "providerError"}', '{"outcome": "nsfw", "progression": "polls:1"}',
                                       '{"scenarios": ["provider-timeout"]}'])
def test_a_task_that_ends_without_a_video_must_make_the_client_exit_non_zero(behaviour, capfd):
    passes = check_here(capfd, "--behaviour", behaviour, client="reference_client")
    assert passes.returncode == 0, passes.stdout + passes.stderr  # it exited 1, as it must
    fails = check_here(capfd, "--behaviour", behaviour, command=QUICK)
    assert fails.returncode == 1
    assert ("the client command exited 0, but no task could end with a usable video (it must exit non-zero)"
            in fails.stderr)


def test_a_client_that_polls_on_after_the_error_breaks_the_contract(capfd):
    result = check_here(capfd, "--behaviour", '{"outcome": "providerError", "progression": "polls:1"}', client="ignores_errors")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL VM005" in result.stdout
    assert "exited 0, but no task could end with a usable video" in result.stderr


def test_a_client_past_its_timeout_fails_every_mode():
    sleeper = [sys.executable, "-c", PING + "; import time; time.sleep(30)"]
    one = vidmock_check("--timeout", "1", "--behaviour", "{}", command=sleeper)
    assert one.returncode == 124
    assert "the client command ran longer than --timeout 1 s" in one.stderr
    many = vidmock_check("--timeout", "1", "--explore", "1", "--seed", "1", command=sleeper)
    assert many.returncode == 1
    assert runs(many.stdout)[0] == ("explore", "FAIL", "no trouble")
    assert "reproduce: vidmock check --timeout 1 --behaviour '{}' -- " in many.stdout


def test_scenarios_compose_into_one_run(capfd):
    assert check_here(capfd, "--scenario", "slow", "--scenario", "polls:1", client="gives_up").returncode == 0
    refused = check_here(capfd, "--scenario", "slow", "--scenario", "unavailable-once", client="gives_up")
    assert refused.returncode == 1 and "submit failed: serviceUnavailable" in refused.stderr


@pytest.mark.parametrize("options, message", [
    (["--explore", "2", "--matrix"], "choose one of --explore, --matrix"),
    (["--behaviour", "{}", "--scenario", "slow"], "choose one of --behaviour, --scenario"),
    (["--seed", "3"], "--seed and --database go with --explore"),
    (["--outcomes", "errors"], "--outcomes goes with --explore or --matrix"),
    (["--explore", "2", "--progression", "polls:1"], "--progression does not go with --explore or --behaviour"),
    (["--behaviour", '{"submit": [418]}'], "--behaviour: submit: 418 is neither a status"),
    (["--scenario", "no-such-scenario"], "unknown scenario(s) no-such-scenario; known: rate-limit-once"),
    (["--progression", "polls:x"], "--progression: progression 'polls:x': expected immediate, polls:N, seconds:T"),
    (["--fault", "[]"], "--fault (as POST /__mock/faults takes it) is a JSON object"),
    (["--fault", '{"action": "explode"}'], '--fault {"action": "explode"}: POST /__mock/faults: 400'),
])
def test_usage_errors_say_what_is_wrong(options, message, capfd):
    result = check_here(capfd, *options, command=QUICK)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr

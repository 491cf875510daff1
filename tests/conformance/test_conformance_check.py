"""``vidmock check`` end to end, as a user runs it: the reference client conforms, each faulty
example is caught by its own rule, and the exit status and JUnit XML say so.

The command line itself (the reference client, a client's exit status, the client's environment)
runs as a subprocess; the per-rule cases, the usage errors and --jobs run the same command line in
this process (``check_here``), which saves an interpreter start each and proves the same: the
client is still a process of its own, and its output reaches the same file descriptor.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from check_support import check_here
from conformance.rules import RULES
from mockserver.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "conformance" / "examples"
TASK_ERROR = json.dumps({"action": "taskError", "code": "providerError"})
RATE_LIMIT = json.dumps({"action": "status", "status": 429, "retryAfter": 1})


def vidmock_check(*options: str, client: str | None = None, command: list[str] | None = None):
    command = command or [sys.executable, str(EXAMPLES / f"{client}.py")]
    return subprocess.run([sys.executable, "-m", "mockserver", "check", *options, "--", *command],
                          capture_output=True, text=True, timeout=120, cwd=REPO)


def failed_rules(stdout: str) -> set[str]:
    return {line.split()[1] for line in stdout.splitlines() if line.startswith("FAIL ")}


def test_the_reference_client_conforms(tmp_path):
    result = vidmock_check("--junit", str(tmp_path / "junit.xml"), client="reference_client")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"all {len(RULES)} rule(s) passed" in result.stdout
    assert result.stdout.startswith("http://127.0.0.1:")  # the client printed its video URL
    suite = ElementTree.parse(tmp_path / "junit.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == (str(len(RULES) + 1), "0")  # every rule and the exit status


@pytest.mark.parametrize("client, options, rule", [
    ("busy_polling", (), "VM004"),
    ("reused_uuid", (), "VM002"),
    ("ignores_errors", ("--fault", TASK_ERROR), "VM005"),
    ("resubmits", (), "VM006"),
    ("wrong_types", (), "VM001"),
    ("no_auth", (), "VM008"),
    ("ignores_retry_after", ("--fault", RATE_LIMIT), "VM007"),
    ("slow_webhook_receiver", (), "VM009"),
    ("form_body", (), "VM011"),
    ("uuid_v7", (), "VM012"),
])
def test_each_faulty_client_is_caught_by_its_rule(client, options, rule, tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(REPO)
    result = check_here(capfd, *options, "--junit", str(tmp_path / "junit.xml"), client=client)
    assert result.returncode == 1, result.stdout + result.stderr
    assert rule in failed_rules(result.stdout), result.stdout
    assert "evidence:" in result.stdout and "fix:" in result.stdout
    failures = [case.get("name").split()[0] for case in ElementTree.parse(tmp_path / "junit.xml").getroot()
                if case.find("failure") is not None]
    assert rule in failures
    if client == "uuid_v7":  # the server served it (no VM001): only the documents' v4 is broken
        assert failed_rules(result.stdout) == {"VM012"}, result.stdout


def test_rules_can_be_selected(capfd, monkeypatch):
    monkeypatch.chdir(REPO)
    result = check_here(capfd, "--rules", "VM001,VM003", client="busy_polling")
    assert result.returncode == 0, result.stdout
    assert "all 2 rule(s) passed" in result.stdout


def test_a_failing_client_command_sets_the_exit_status(tmp_path):
    result = vidmock_check("--junit", str(tmp_path / "junit.xml"), command=[sys.executable, "-c", "import sys; sys.exit(3)"])
    assert result.returncode == 3
    assert "pass VM001, VM002, VM003, VM004, VM005, VM006, VM007, VM008, VM009" in result.stdout  # printed all the same
    assert "FAIL VM010" in result.stdout  # it never reached the mock either
    assert "the client command exited with status 3 (expected 0)" in result.stderr
    [exit_case] = [case for case in ElementTree.parse(tmp_path / "junit.xml").getroot() if case.get("name").startswith("exit")]
    assert exit_case.find("failure").get("message") == "the client command exited with status 3 (expected 0)"


def test_client_environment_names_the_mock():
    script = ("import os; print(*[os.environ[k] for k in ('VIDMOCK_HTTP_URL', 'VIDMOCK_WS_URL', "
              "'VIDMOCK_BASE_URL', 'VIDMOCK_API_KEY', 'RUNWARE_API_KEY')])")
    result = vidmock_check(command=[sys.executable, "-c", script])
    http_url, ws_url, base_url, key, runware_key = result.stdout.split("\n")[0].split()
    assert http_url == base_url + "/v1" and ws_url == "ws" + base_url[4:] + "/v1"
    assert base_url.startswith("http://127.0.0.1:") and key == runware_key


@pytest.mark.parametrize("arguments, status", [([], 2), (["--rules", "VM999", "--", "true"], 2),
                                               (["--", "no-such-command-xyz"], 127),
                                               (["--explore", "3", "--", "no-such-command-xyz"], 127)])
def test_usage_errors(arguments, status, capfd):
    """In-process (the exit status is main's); the console script's own are the tests above."""
    with pytest.raises(SystemExit) as exited:
        main(["check", *arguments])
    assert exited.value.code == status, capfd.readouterr().err


# -- --jobs N -------------------------------------------------------------------------------------------

RUN_SECONDS = re.compile(r"^((?:explore|shrink|confirm|matrix)\s+\d+\s+(?:pass|FAIL))\s+[\d.]+ s", re.MULTILINE)


def without_run_seconds(stdout: str) -> str:
    """The report but for what each run line measured (the command's seconds): the one part that
    differs between two runs of the same check whatever --jobs is."""
    return RUN_SECONDS.sub(r"\1  <seconds>", stdout)


@pytest.mark.slow  # a whole matrix and a whole exploration, each run twice (17 s and 7 s)
@pytest.mark.parametrize("options, client", [
    (("--matrix", "--outcomes", "errors"), "reference_client"),  # every row passes
    (("--explore", "10", "--seed", "1"), "gives_up"),  # a failure found at run 2, shrunk, confirmed
])
def test_jobs_change_neither_the_report_nor_the_junit_file(options, client, tmp_path):
    one = vidmock_check(*options, "--junit", str(tmp_path / "one.xml"), client=client)
    three = vidmock_check(*options, "--jobs", "3", "--junit", str(tmp_path / "three.xml"), client=client)
    assert one.returncode == three.returncode, one.stdout + one.stderr + three.stdout + three.stderr
    assert RUN_SECONDS.search(one.stdout), one.stdout
    assert without_run_seconds(three.stdout) == without_run_seconds(one.stdout)
    assert (tmp_path / "three.xml").read_bytes() == (tmp_path / "one.xml").read_bytes()


# Pings the mock with its key, leaves its key in $RENDEZVOUS, then waits for a second run's key to
# appear there: under --jobs 1 it would wait until --timeout, so it ends only beside another run.
RENDEZVOUS = ("import os, pathlib, time, urllib.request as u; key = os.environ['VIDMOCK_API_KEY']; "
              "u.urlopen(u.Request(os.environ['VIDMOCK_HTTP_URL'], b'[{\"taskType\": \"ping\", \"ping\": true}]', "
              "{'Authorization': 'Bearer ' + key, 'Content-Type': 'application/json'})); "
              "here = pathlib.Path(os.environ['RENDEZVOUS']); (here / key).write_text(key); "
              "exec('while len(list(here.iterdir())) < 2: time.sleep(0.05)')")


def test_jobs_run_the_matrix_side_by_side_each_under_its_own_key(tmp_path, monkeypatch, capfd):
    rendezvous = tmp_path / "keys"
    rendezvous.mkdir()
    monkeypatch.setenv("RENDEZVOUS", str(rendezvous))
    result = check_here(capfd, "--matrix", "--outcomes", "errors", "--jobs", "2", "--timeout", "60",
                           command=[sys.executable, "-c", RENDEZVOUS])
    assert "ran longer than --timeout" not in result.stdout, result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("matrix ")]
    assert [line.split()[1] for line in rows] == ["1", "2", "3", "4", "5", "6"]  # numbered in the order of the rows
    keys = sorted(path.name for path in rendezvous.iterdir())
    assert len(keys) == 6 and all(key.startswith("check-") for key in keys)  # a key, so a namespace, per run
    assert re.search(r"^\(none\) +yes ", result.stdout, re.M)  # it reached the mock with its key, and exited 0


def test_jobs_go_with_many_runs_only(capfd):
    result = check_here(capfd, "--jobs", "2", command=["true"])
    assert result.returncode == 2
    assert "vidmock check: --jobs goes with --explore or --matrix (a single run is one command)" in result.stderr
    refused = check_here(capfd, "--matrix", "--jobs", "0", command=["true"])
    assert refused.returncode == 2 and "--jobs: must be at least 1" in refused.stderr

"""``vidmock check`` grades clients under the behaviours seen live, end to end as a user runs it:
credits exhausted (the refused submit, then polls answering processing), a failed upload of a
first frame, a transient read error, videos a few pixels and frames off the request. The client
past its --timeout runs the command as a subprocess; the others run it in this process
(``check_here``), the client still a process of its own."""

from __future__ import annotations

import json
import sys

import pytest

from check_support import check_here
from test_conformance_explore import EXAMPLES, matrix_rows, runs, vidmock_check

# Submits one text-to-video task, then exits 0 whatever the reply said.
SUBMIT_AND_EXIT = [sys.executable, "-c", (
    "import os, json, uuid, urllib.request as u, urllib.error as e\n"
    "task = {'taskType': 'videoInference', 'taskUUID': str(uuid.uuid4()), 'model': 'alibaba:wan@2.7',"
    " 'positivePrompt': 'x', 'width': 1280, 'height': 720, 'duration': 2}\n"
    "request = u.Request(os.environ['VIDMOCK_HTTP_URL'], json.dumps([task]).encode(),"
    " {'Authorization': 'Bearer ' + os.environ['VIDMOCK_API_KEY'], 'Content-Type': 'application/json'})\n"
    "try:\n    u.urlopen(request)\nexcept e.HTTPError:\n    pass\n")]


def test_a_client_that_stops_at_the_credits_refusal_passes(capfd):
    result = check_here(capfd, "--scenario", "credits-exhausted", client="reference_client")
    assert result.returncode == 0, result.stdout + result.stderr  # it exited 1, as it must: no video can come
    assert "submit failed: insufficientCredits: " in result.stderr
    assert "all 12 rule(s) passed" in result.stdout


def test_a_client_that_polls_after_the_refused_submit_fails_the_credits_scenario():
    result = vidmock_check("--timeout", "6", "--scenario", "credits-exhausted", client="polls_after_refusal")
    assert result.returncode == 124, result.stdout + result.stderr  # polled "processing" until killed
    assert "the client command ran longer than --timeout 6 s" in result.stderr
    assert "FAIL VM003" in result.stdout
    assert "which no acknowledged videoInference had" in result.stdout
    calm = vidmock_check("--progression", "immediate", client="polls_after_refusal")
    assert calm.returncode == 0, calm.stdout + calm.stderr  # when its submits are accepted it behaves


def test_a_client_that_exits_0_after_a_refused_submit_breaks_the_outcome_contract(capfd):
    result = check_here(capfd, "--scenario", "credits-exhausted", command=SUBMIT_AND_EXIT)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "exited 0, but no task could end with a usable video" in result.stderr


def test_an_upload_that_failed_ends_an_image_to_video_client_and_spares_a_text_to_video_one(capfd):
    image = check_here(capfd, "--scenario", "upload-failed", command=[sys.executable, str(EXAMPLES / "reference_client.py"),
                                                                  "--first-frame"])
    assert image.returncode == 0, image.stdout + image.stderr  # exit 1, as it must
    assert "submit failed: invalidValueUploadFailed: Processing parameter 'inputs.frameImages' failed." in image.stderr
    text = check_here(capfd, "--scenario", "upload-failed", client="reference_client")
    assert text.returncode == 0, text.stdout + text.stderr  # met nothing: exit 0, as it must
    assert text.stdout.startswith("http://127.0.0.1:")


def test_a_transient_read_error_is_retried_through_by_the_reference_client_and_ends_a_fragile_one(capfd):
    assert check_here(capfd, "--scenario", "read-error-once", client="reference_client").returncode == 0
    fragile = check_here(capfd, "--scenario", "read-error-once", client="gives_up")
    assert fragile.returncode == 1, fragile.stdout + fragile.stderr
    assert "task failed: unknownErrorWhileReadingResults" in fragile.stderr


@pytest.mark.parametrize("mode", [
    ["--scenario", "inexact-media"],
    pytest.param(["--behaviour", '{"inexactMedia": true}'], marks=pytest.mark.slow),  # the same run, asked the other way
])
def test_inexact_media_catch_a_client_that_assumes_exact_output(mode, capfd):
    assert check_here(capfd, "--progression", "immediate", client="assumes_exact_media").returncode == 0  # exact by default
    caught = check_here(capfd, *mode, client="assumes_exact_media")
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert "unexpected video: VideoFacts(width=" in caught.stderr and "asked for 1280x720, 2 s" in caught.stderr
    assert check_here(capfd, *mode, client="reference_client").returncode == 0


@pytest.mark.slow  # a long exploration: 12 runs and their shrinking, the quick tier's longest item (37 s)
def test_exploration_finds_the_client_that_assumes_exact_media_and_shrinks_to_the_inexact_videos(capfd):
    result = check_here(capfd, "--explore", "12", "--seed", "1", "--jobs", "3", client="assumes_exact_media")
    assert result.returncode == 1, result.stdout + result.stderr
    assert runs(result.stdout)[-1] == ("confirm", "FAIL", "videos a few pixels and frames off the request, as live ones")
    argv = result.stdout.split("reproduce: ", 1)[1].splitlines()[0]
    assert json.loads(argv.split("--behaviour '", 1)[1].split("'", 1)[0]) == {"inexactMedia": True}


@pytest.mark.slow  # a --matrix run of every live refusal
def test_the_matrix_of_errors_shows_who_survives_the_live_refusals(capfd):
    result = check_here(capfd, "--matrix", "--outcomes", "errors", "--progression", "immediate", "--timeout", "6",
                           "--jobs", "3",
                           client="polls_after_refusal")
    rows = matrix_rows(result.stdout)
    assert (rows["credits-exhausted"], rows["upload-failed"], rows["provider-error"]) == ("NO", "yes", "yes")
    assert result.returncode == 1


"""``vidmock validate``: the would-be response, every violation, and clean failures."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import aiohttp
import pytest

from cli_run import vidmock
from mockserver.commands.validate import run, would_be_reply

FIXTURES = Path(__file__).parents[2] / "fixtures"
EXAMPLE = FIXTURES / "requests" / "example-4-wind-carved-cliffside-glass-conservatory.json"


def validate(path, as_json=False):
    out, err = io.StringIO(), io.StringIO()
    status = run(str(path), as_json=as_json, out=out, err=err)
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("path", sorted((FIXTURES / "requests").glob("*.json")), ids=lambda p: p.stem)
def test_spec_examples_are_valid(path):
    status, out, err = validate(path)
    assert status == 0
    assert out.startswith("HTTP 200")
    assert "1 of 1 task(s) valid" in out
    assert "expects an array" in err  # the fixtures hold a single task object


def test_array_with_one_bad_task_reports_all_its_violations(tmp_path):
    good = json.loads(EXAMPLE.read_text())
    bad = {**good, "taskUUID": "0d84f171-2e54-4c07-836e-05788795736e", "width": 1000, "duration": 40, "fps": 24}
    path = tmp_path / "req.json"
    path.write_text(json.dumps([good, bad]))
    status, out, err = validate(path, as_json=True)
    assert status == 1 and err == ""
    report = json.loads(out)
    assert report["status"] == 200  # partial success: one ack, one error
    assert report["response"]["data"] == [{"taskType": "videoInference", "taskUUID": good["taskUUID"]}]
    assert [e["code"] for e in report["response"]["errors"]] == ["unsupportedParameter"]
    assert report["violations"][0] == []
    assert sorted(e["code"] for e in report["violations"][1]) == ["unsupportedDuration", "unsupportedModelResolution", "unsupportedParameter"]


def test_size_error_is_reported_once_the_schema_passes(tmp_path):
    path = tmp_path / "req.json"
    path.write_text(json.dumps([{**json.loads(EXAMPLE.read_text()), "width": 1000, "height": 1000}]))
    status, out, _ = validate(path)
    assert status == 1
    assert out.startswith("HTTP 400")
    assert "unsupportedModelResolution" in out and "1920x1080" in out


@pytest.mark.parametrize("content, message", [
    (b"{not json", "is not JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    (b"\xff\xfe[]", "is not UTF-8 text (byte 0)"),
    (b"[]", "must hold a task object or a non-empty JSON array of tasks"),
    (b"42", "must hold a task object or a non-empty JSON array of tasks"),
])
def test_unusable_files_get_a_message_not_a_traceback(tmp_path, content, message):
    path = tmp_path / "req.json"
    path.write_bytes(content)
    status, out, err = validate(path)
    assert status == 2 and out == ""
    assert err == f"vidmock validate: {path} {message}\n"


def test_missing_file(tmp_path):
    status, _, err = validate(tmp_path / "absent.json")
    assert status == 2
    assert err.startswith(f"vidmock validate: cannot read {tmp_path / 'absent.json'}: No such file")


# --- standard input, several files, and the envelope the server sends --------------------------------


def test_standard_input_is_read_for_dash():
    tasks = [json.loads(EXAMPLE.read_text())]
    done = vidmock("validate", "-", stdin=json.dumps(tasks).encode())
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("HTTP 200\n") and done.stdout.endswith("\n1 of 1 task(s) valid\n")
    done = vidmock("validate", "-", stdin=b"{not json")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("vidmock validate: <stdin> is not JSON: Expecting property name enclosed in double "
                           "quotes at line 1 column 2\n")


def _files(tmp_path):
    good = json.loads(EXAMPLE.read_text())
    paths = {"good": tmp_path / "good.json", "bad": tmp_path / "bad.json", "absent": tmp_path / "absent.json"}
    paths["good"].write_text(json.dumps([good]))
    paths["bad"].write_text(json.dumps([{**good, "width": 1000, "height": 1000}]))
    return paths


def test_several_files_each_named_exit_status_the_worst(tmp_path):
    paths = _files(tmp_path)
    done = vidmock("validate", str(paths["good"]), str(paths["bad"]))
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout.startswith(f"== {paths['good']}\nHTTP 200\n")
    assert f"\n\n== {paths['bad']}\nHTTP 400\n" in done.stdout
    assert done.stdout.endswith("\n2 files: 1 valid, 1 invalid\n")
    done = vidmock("validate", str(paths["good"]), str(paths["absent"]), str(paths["bad"]))
    assert done.returncode == 2
    assert done.stderr.startswith(f"vidmock validate: cannot read {paths['absent']}: No such file")
    assert done.stdout.endswith("\n3 files: 1 valid, 1 invalid, 1 unreadable\n")
    assert f"== {paths['absent']}" not in done.stdout


def test_several_files_as_json_are_an_array_of_reports_naming_their_file(tmp_path):
    paths = _files(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    status = run([str(paths["good"]), str(paths["bad"]), str(paths["absent"])], as_json=True, out=out, err=err)
    reports = json.loads(out.getvalue())
    assert status == 2
    assert [report["file"] for report in reports] == [str(paths["good"]), str(paths["bad"]), str(paths["absent"])]
    assert [report.get("status") for report in reports] == [200, 400, None]
    assert [e["code"] for e in reports[1]["response"]["errors"]] == ["unsupportedModelResolution"]
    assert reports[2]["error"].startswith(f"cannot read {paths['absent']}")


def test_one_file_as_json_is_one_report_with_its_file(tmp_path):
    status, out, _ = validate(EXAMPLE, as_json=True)
    report = json.loads(out)
    assert (status, report["file"], report["status"]) == (0, str(EXAMPLE), 200)


async def test_the_reply_is_the_one_the_server_sends(make_server, tmp_path):
    """validate builds its envelope with protocol.Reply, so it answers as the transports do."""
    good = {**json.loads(EXAMPLE.read_text()), "width": 1280, "height": 720, "duration": 2}
    bad_size = {**good, "taskUUID": str(uuid.uuid4()), "width": 1000, "height": 1000}
    bad_fields = {**good, "taskUUID": str(uuid.uuid4()), "duration": 40, "fps": 24}
    server = await make_server(progression="manual")
    for tasks, acked in (([bad_size, bad_fields], []), ([good, bad_size], [good["taskUUID"]])):
        reply = would_be_reply(tasks)
        assert [item["taskUUID"] for item in reply.data] == acked and len(reply.errors) == len(tasks) - len(acked)
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{server.base_url}/v1", json=tasks, headers={"Authorization": "Bearer k"}) as r:
                assert (reply.http_status, reply.envelope()) == (r.status, await r.json())

"""``vidmock validate``: the would-be response, every violation, and clean failures."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from mockserver.validate_cmd import run

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

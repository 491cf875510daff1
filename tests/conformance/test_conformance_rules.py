"""Each client rule on hand-made journal traffic: what breaks it, what does not, and how the
report and JUnit XML present the result."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from conformance.report import junit_xml, text_report
from conformance.rules import RULES, Traffic, evaluate

REPO = Path(__file__).resolve().parents[2]
UUID_A = "0d84f171-2e54-4c07-836e-05788795736d"
UUID_B = "9b2f8c3e-5a61-4f0e-9d7c-2a4b6c8d0e1f"
VIDEO = {"taskType": "videoInference", "taskUUID": UUID_A, "model": "alibaba:wan@2.7", "positivePrompt": "p",
         "width": 1280, "height": 720}


class Recorder:
    """Builds journal entries in the shape GET /__mock/journal serves."""

    def __init__(self):
        self.entries, self.now = [], 1000.0

    def send(self, tasks, *, after=1.0, reply=None, status=200, headers=None, transport="rest",
             namespace="k", auth=True):
        self.now += after
        self.entries.append({
            "id": len(self.entries) + 1, "transport": transport, "namespace": namespace,
            "receivedWall": self.now, "receivedAt": self.now, "tasks": tasks, "violations": [], "rawBody": None,
            "headers": {**({"Authorization": "<redacted>"} if auth else {}),
                        **({"Content-Type": "application/json"} if transport == "rest" else {})},
            "response": {"status": status, "headers": headers or {}, "body": reply or {"data": []}}})
        return self

    def submit(self, task=VIDEO, **kw):
        return self.send([task], reply={"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]}, **kw)

    def poll(self, uuid=UUID_A, status="processing", **kw):
        item = {"taskType": "videoInference", "taskUUID": uuid, "status": status}
        reply = {"errors": [{**item, "code": "providerError", "message": "m"}]} if status == "error" else {"data": [item]}
        return self.send([{"taskType": "getResponse", "taskUUID": uuid}], reply=reply, **kw)

    def violated(self, deliveries=()):
        return {rule.id for rule, found in evaluate(Traffic(self.entries, list(deliveries))).items() if found}


def test_a_well_behaved_exchange_breaks_no_rule():
    assert Recorder().submit().poll(after=1).poll(after=1.5, status="success").violated() == set()


def test_vm001_invalid_requests():
    recorder = Recorder().submit()
    recorder.entries[0]["violations"] = [{"taskIndex": 0, "taskType": "videoInference", "taskUUID": UUID_A,
                                          "errors": [{"code": "invalidWidth", "parameter": "width"}]}]
    assert recorder.violated() == {"VM001"}


@pytest.mark.parametrize("uuid", ["not-a-uuid", "0d84f171-2e54-1c07-836e-05788795736d",
                                  "019c42a0-c3ff-7138-be83-ee257abc5331"])
def test_vm012_task_uuid_not_v4(uuid):
    """The server accepts a v1 or v7 (the live service echoed a v7); the documents ask for v4."""
    recorder = Recorder().submit({**VIDEO, "taskUUID": uuid})
    assert recorder.violated() >= {"VM012"} and "VM002" not in recorder.violated()
    [violation] = evaluate(Traffic(recorder.entries), ["VM012"])[RULES["VM012"]]
    assert violation.message == f"taskUUID {uuid!r} is not a UUID v4."
    assert violation.evidence == {"entries": [1], "times": [violation.evidence["times"][0]], "taskUUID": uuid}


def test_vm012_a_v4_task_uuid_passes():
    assert "VM012" not in Recorder().submit().violated()


def test_vm002_task_uuid_reused_for_another_task():
    recorder = Recorder().submit().poll(status="success").send([{**VIDEO, "positivePrompt": "other"}])
    assert "VM002" in recorder.violated()


def test_vm002_same_task_retried_under_its_uuid_is_fine():
    recorder = Recorder().send([VIDEO], status=503, reply={"errors": [{"code": "serviceUnavailable"}]}).submit()
    assert recorder.poll(status="success").violated() == set()


def test_vm003_poll_of_an_unknown_task():
    assert Recorder().poll(UUID_B, status="error").violated() == {"VM003"}


def test_vm004_busy_polling_and_missing_backoff():
    assert Recorder().submit().poll(after=1).poll(after=0.1, status="success").violated() == {"VM004"}
    recorder = Recorder().submit()
    for _ in range(12):
        recorder.poll(after=0.6)
    assert recorder.violated() == {"VM004"}


def test_vm005_polling_after_an_error():
    recorder = Recorder().submit().poll(status="error").poll(after=1, status="error")
    assert recorder.violated() == {"VM005"}


def test_vm006_resubmission_after_ack():
    assert Recorder().submit().submit().violated() >= {"VM006"}
    same_content = Recorder().submit().submit({**VIDEO, "taskUUID": UUID_B})
    assert same_content.violated() == {"VM006"}


def test_vm006_same_content_after_the_first_ended_is_a_new_request():
    assert Recorder().submit().poll(status="success").submit({**VIDEO, "taskUUID": UUID_B}).violated() == set()


def test_vm007_retry_after_ignored_and_honoured():
    refused = dict(status=429, headers={"Retry-After": "2"}, reply={"errors": [{"code": "rateLimitExceeded"}]})
    assert Recorder().send([VIDEO], **refused).submit(after=0.5).violated() == {"VM007"}
    assert Recorder().send([VIDEO], **refused).submit(after=2.1).violated() == set()


def test_vm008_no_authentication():
    assert Recorder().submit(auth=False).violated() == {"VM008"}
    assert Recorder().submit(transport="ws", namespace=None, auth=False).violated() == {"VM008"}
    auth_first = Recorder().send([{"taskType": "authentication", "apiKey": "<redacted>"}, VIDEO], auth=False,
                                 reply={"data": [{"taskType": "videoInference", "taskUUID": UUID_A}]})
    assert auth_first.violated() == set()


def test_vm009_webhook_refused_or_slow():
    def record(status, latency):
        return {"id": 1, "kind": "webhook", "taskUUID": UUID_A, "url": "http://127.0.0.1:1/h",
                "attempts": [{"attempt": 1, "status": status, "latencyMs": latency, "error": None}]}
    def exchange():  # the webhook's task, submitted and polled to its end
        return Recorder().submit().poll(after=1, status="success")
    assert exchange().violated([record(500, 3)]) == {"VM009"}
    assert exchange().violated([record(200, 5000)]) == {"VM009"}
    assert exchange().violated([record(204, 12)]) == set()


def test_vm010_a_client_that_never_reached_the_mock():
    assert Recorder().violated() == {"VM010"}
    results = evaluate(Traffic([], [], api_key="check-key"), ["VM010"])
    [violation] = results[RULES["VM010"]]
    assert violation.message == "Nothing was recorded for the key: the client never reached the mock."
    assert violation.evidence == {"apiKey": "check-key", "entries": [], "otherEntries": []}


def test_vm010_a_client_that_used_another_key_or_none():
    recorder = Recorder().submit(namespace="hard-coded-key").poll(namespace=None, auth=False)
    [violation] = evaluate(Traffic(recorder.entries, api_key="check-key"), ["VM010"])[RULES["VM010"]]
    assert violation.message == "Nothing was recorded for the key; 2 request(s) came without it."
    assert violation.evidence["otherEntries"] == [1, 2]
    assert evaluate(Traffic(recorder.entries, api_key="hard-coded-key"), ["VM010"])[RULES["VM010"]] == []


def dropped(recorder, action, processed=None):
    """Mark the last entry as one whose reply the mock dropped on purpose."""
    entry = recorder.entries[-1]
    entry["faults"] = [{"action": action, **({"processed": processed} if processed is not None else {})}]
    if action == "reset":
        entry["response"] = {"status": None, "headers": {}, "body": None}
    return recorder


def test_polling_a_task_whose_ack_was_lost_is_fine():
    """The submit ran, its reply was cut (a processed reset); the client may poll it (VM003) and
    may resend it once, being told conflictTaskUUID (VM006)."""
    conflict = {"errors": [{"code": "conflictTaskUUID", "taskType": "videoInference", "taskUUID": UUID_A}]}
    lost = dropped(Recorder().send([VIDEO]), "reset", processed=True)
    assert lost.poll(after=1).poll(after=1, status="success").violated() == set()
    resent = dropped(Recorder().send([VIDEO]), "reset", processed=True).send([VIDEO], reply=conflict, status=400)
    assert resent.poll(after=1, status="success").violated() == set()
    assert "VM006" in resent.send([VIDEO], reply=conflict, status=400).violated()  # told it twice


def test_an_unsent_websocket_ack_does_not_forbid_the_resend():
    recorder = dropped(Recorder().submit(transport="ws"), "close1011").submit(transport="ws")
    assert recorder.poll(after=1, status="success", transport="ws").violated() == set()


def test_a_request_reset_before_it_ran_did_not_submit_anything():
    recorder = dropped(Recorder().send([VIDEO]), "reset", processed=False).poll(after=1)
    assert recorder.violated() == {"VM003"}


def dry(recorder: Recorder) -> Recorder:
    recorder.entries[-1]["dryRun"] = True
    return recorder


def test_a_dry_run_is_no_ack_so_the_real_run_of_its_task_is_no_resubmission():
    assert dry(Recorder().submit()).submit().poll().poll(after=1.5, status="success").violated() == set()
    assert Recorder().submit().submit().violated() >= {"VM006"}  # without the dry run it would be one


def test_a_dry_run_is_judged_by_neither_its_violations_nor_the_task_it_priced():
    """A dry run asks to be validated: its errors are the answer, not a client bug (VM001); and it
    uses no taskUUID, so the real run may send something else under it (VM002)."""
    refused = dry(Recorder().submit({**VIDEO, "width": 1000}))
    refused.entries[-1]["violations"] = [{"taskIndex": 0, "taskType": "videoInference", "taskUUID": UUID_A,
                                          "errors": [{"code": "unsupportedModelResolution", "parameter": "width"}]}]
    assert refused.submit().poll().poll(after=1.5, status="success").violated() == set()
    assert "VM012" in dry(Recorder().submit({**VIDEO, "taskUUID": "not-a-uuid"})).violated()


def test_polling_a_task_only_a_dry_run_answered_is_polling_an_unknown_task():
    assert dry(Recorder().submit()).poll(status="error").violated() == {"VM003"}


@pytest.mark.parametrize("content_type, flagged", [
    (None, True), ("application/x-www-form-urlencoded", True), ("text/plain", True), ("application/jsonl", True),
    ("application/json", False), ("Application/JSON; charset=utf-8", False)])
def test_vm011_rest_requests_must_say_they_are_json(content_type, flagged):
    recorder = Recorder().submit()
    headers = recorder.entries[-1]["headers"]
    del headers["Content-Type"]
    if content_type is not None:
        headers["content-type"] = content_type
    assert recorder.violated() == ({"VM011"} if flagged else set())


def test_vm011_does_not_judge_websocket_frames():
    assert Recorder().submit(transport="ws").violated() == set()


def test_every_rule_is_documented_with_its_anchor():
    text = (REPO / "docs" / "conformance.md").read_text(encoding="utf-8")
    for rule_id, rule in RULES.items():
        assert re.match(r"VM\d{3}$", rule_id) and rule.title and rule.fix
        assert re.search(rf"^### {rule_id}\b", text, re.MULTILINE), f"docs/conformance.md has no section {rule_id}"


def test_report_names_rule_evidence_and_fix():
    results = evaluate(Traffic(Recorder().submit(auth=False).entries))
    report = text_report(results)
    assert "FAIL VM008" in report and '"entries": [1]' in report and "fix:" in report
    assert "see: vidmock explain VM008" in report and "docs/" not in report
    suite = ElementTree.fromstring(junit_xml(results))
    assert suite.get("tests") == str(len(RULES)) and suite.get("failures") == "1"
    failures = [case for case in suite if case.find("failure") is not None]
    assert [case.get("name").split()[0] for case in failures] == ["VM008"]


def test_unknown_rule_ids_are_refused():
    with pytest.raises(KeyError, match="VM999"):
        evaluate(Traffic([]), ["VM999"])


def test_vm010_in_the_plugin_a_test_whose_client_sent_nothing_fails(vidmock):
    assert [v.message for v in vidmock.violations(["VM010"])[RULES["VM010"]]] == [
        "Nothing was recorded for the key: the client never reached the mock."]
    vidmock.call("GET", "/__mock/journal")  # the control plane is not the API: still nothing
    with pytest.raises(pytest.fail.Exception, match="FAIL VM010"):
        vidmock.assert_conforms()

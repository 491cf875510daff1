"""The drift judge on its own (``mockserver.traffic.drift``), and the redaction every recording goes
through (``mockserver.traffic.redaction``): replies of the shapes the research notes say the real API
has been seen to send, judged exactly."""

from __future__ import annotations

from conftest import MODEL, data_uri, new_uuid, png_bytes, video_task
from mockserver.media.video_probe import VideoFacts
from mockserver.traffic.drift import DriftJudge
from mockserver.traffic.redaction import key_fingerprint, redact, redact_url

NS = "key-test"
VIDEOS: dict[str, str] = {}


def found(findings) -> set[tuple]:
    return {(f.direction, f.code, f.parameter) for f in findings}


def ack(task: dict, **extra) -> dict:
    return {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"], **extra}]}


def success(task: dict, **fields) -> dict:
    """The task's one result (the same videoUUID every time: a second one would be a finding)."""
    video = VIDEOS.setdefault(task["taskUUID"], new_uuid())
    item = {"taskType": "videoInference", "taskUUID": task["taskUUID"], "status": "success",
            "videoUUID": video, "videoURL": f"https://im.runware.ai/video/{video}.mp4", "seed": 1, **fields}
    return {"data": [item]}


def submitted(judge: DriftJudge, task: dict) -> None:
    assert judge.exchange(NS, [task], ack(task)) == []


def poll(task: dict) -> list:
    return [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]


def test_costs_are_held_to_the_profiles_rate_for_the_tasks_class_mode_and_duration():
    judge = DriftJudge()
    frames = [{"image": data_uri(png_bytes(64, 36)), "frame": "first"},
              {"image": data_uri(png_bytes(64, 36)), "frame": "last"}]
    first_last_1080p = {"taskType": "videoInference", "taskUUID": new_uuid(), "model": MODEL, "duration": 4,
                        "includeCost": True, "inputs": {"frameImages": frames}}
    submitted(judge, first_last_1080p)
    assert judge.exchange(NS, poll(first_last_1080p), success(first_last_1080p, cost=0.606)) == []  # 0.1515 x 4
    [finding] = judge.exchange(NS, poll(first_last_1080p), success(first_last_1080p, cost=0.60255))  # the default rate
    assert (finding.code, finding.parameter) == ("costMismatch", "cost")
    assert finding.message == "cost 0.60255 is not the profile's 0.606 for 1080p, firstLastFrame, 4 s."
    priced_720p = video_task(includeCost=True, duration=10)
    submitted(judge, priced_720p)
    assert judge.exchange(NS, poll(priced_720p), success(priced_720p, cost=1.00425)) == []
    assert found(judge.exchange(NS, poll(priced_720p), success(priced_720p))) == {("reply", "missingField", "cost")}
    unpriced = video_task()
    submitted(judge, unpriced)
    assert found(judge.exchange(NS, poll(unpriced), success(unpriced, cost=0.2))) == {
        ("reply", "unexpectedField", "cost")}


def test_reply_shapes_the_docs_disagree_on_are_findings():
    judge = DriftJudge()
    task = video_task()
    submitted(judge, task)
    legacy = {"error": True, "errorMessage": "Invalid api key"}
    assert found(judge.exchange(NS, poll(task), legacy)) >= {("reply", "unexpectedField", "error")}
    in_data = {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"], "status": "error",
                         "error": {"code": "providerError", "message": "failed"}}]}
    [finding] = judge.exchange(NS, poll(task), in_data)
    assert (finding.code, finding.parameter) == ("invalidField", "status")
    no_status = {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]}
    assert found(judge.exchange(NS, poll(task), no_status)) == {("reply", "missingField", "status")}
    echoed = {"data": [{"taskType": "getResponse", "taskUUID": task["taskUUID"], "status": "processing"}]}
    assert found(judge.exchange(NS, poll(task), echoed)) == {("reply", "invalidField", "taskType")}
    progress = {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"], "status": "processing",
                          "progress": 150}]}
    assert found(judge.exchange(NS, poll(task), progress)) == {("reply", "invalidField", "progress")}
    assert found(judge.exchange(NS, [task], "<html>")) == {("reply", "replyNotJson", None)}


def test_rules_the_upstream_and_vidmock_disagree_on_are_findings_in_the_right_direction():
    judge = DriftJudge()
    loose = video_task(duration=20)
    assert found(judge.exchange(NS, [loose], ack(loose))) == {("request", "unsupportedDuration", "duration")}
    strict = video_task(duration=15)
    rejection = {"errors": [{"code": "unsupportedDuration", "message": "at most 10", "parameter": "duration",
                             "taskUUID": strict["taskUUID"]}]}
    assert found(judge.exchange(NS, [strict], rejection)) == {("reply", "rejectedValidTask", "duration")}
    state = {"errors": [{"code": "conflictTaskUUID", "message": "used", "taskUUID": strict["taskUUID"]}]}
    assert judge.exchange(NS, [strict], state) == []  # a state error says nothing about the rules
    dry = video_task(duration=20)  # a dry run's reply has its own shape: only the request is judged
    assert found(judge.exchange(NS, [dry], {"data": [{"cost": 1}]}, judge_reply=False)) == {
        ("request", "unsupportedDuration", "duration")}


def test_a_probed_video_must_have_the_asked_size_the_models_frame_rate_and_the_duration():
    judge = DriftJudge()
    sized = video_task(duration=3)
    submitted(judge, sized)
    assert judge.video(NS, sized["taskUUID"], VideoFacts(1280, 720, 30.0, 3.0)) == []
    assert found(judge.video(NS, sized["taskUUID"], VideoFacts(1920, 1080, 24.0, 5.0))) == {
        ("reply", "sizeMismatch", "videoURL"), ("reply", "fpsMismatch", "videoURL"),
        ("reply", "durationMismatch", "videoURL")}
    framed = {"taskType": "videoInference", "taskUUID": new_uuid(), "model": MODEL, "duration": 2,
              "resolution": "720p", "inputs": {"frameImages": ["https://example.com/a.png"]}}
    submitted(judge, framed)  # its aspect is the URL's, unknown offline: any 720p size will do
    assert judge.video(NS, framed["taskUUID"], VideoFacts(960, 960, 30.0, 2.0)) == []
    [finding] = judge.video(NS, framed["taskUUID"], VideoFacts(1440, 1440, 30.0, 2.0))
    assert finding.message == ("The video is 1440x1440; the task asked for a 720p size "
                               "(720x1280, 832x1088, 960x960, 1088x832, 1280x720).")


def test_redaction_reaches_keys_wherever_they_hide():
    key = "sk-abcdef0123456789"
    value = {"apiKey": key, "webhookURL": f"https://hooks.example/x?token=t0k&run=1&apiKey={key}",
             "positivePrompt": f"say {key}", "nested": [{"uploadEndpoint": "https://user:pw@host/p?X-Amz-Signature=s"}]}
    redacted = redact(value, [key])
    assert key not in repr(redacted) and "t0k" not in repr(redacted) and "pw" not in repr(redacted)
    assert redacted["apiKey"] == "<redacted>" and redacted["positivePrompt"] == "say <redacted>"
    assert "run=1" in redacted["webhookURL"]
    assert redact_url("https://a.example/v1?apiKey=k") == "https://a.example/v1?apiKey=<redacted>"
    assert key_fingerprint(key) == key_fingerprint(key) != key_fingerprint(key + "x")
    assert key_fingerprint(key).startswith("key-") and key not in key_fingerprint(key)


def test_more_results_than_asked_for_are_a_finding():
    judge = DriftJudge()
    task = video_task()
    submitted(judge, task)
    assert judge.exchange(NS, poll(task), success(task)) == []
    other = success(task)
    other["data"][0]["videoUUID"] = new_uuid()
    assert found(judge.exchange(NS, poll(task), other)) == {("reply", "resultCount", "videoUUID")}

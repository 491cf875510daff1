"""The pytest plugin's waits, on its session server: a ``vidmock`` test waits for a task or its
getResponse without sleeping on a timer (``GET /__mock/tasks/{taskUUID}/wait``)."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from conformance.client import ControlError


def video_task() -> dict:
    return {"taskType": "videoInference", "taskUUID": str(uuid.uuid4()), "model": "alibaba:wan@2.7",
            "positivePrompt": "a kite over the dunes", "width": 1280, "height": 720, "duration": 2}


def held_waits(vidmock) -> int:
    return vidmock.call("GET", "health")["control"]["taskWaits"]


def test_wait_task_answers_when_the_task_is_completed(vidmock):
    task = video_task()
    vidmock.progression("manual", task["taskUUID"])
    vidmock.post([task])
    before = held_waits(vidmock)
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(vidmock.wait_task, task["taskUUID"], 300)  # far past the 30 s a call may take
        while held_waits(vidmock) == before:  # the server holds the wait: only the job's end answers it
            time.sleep(0.01)
        vidmock.complete(task["taskUUID"])
        finished = waiting.result()
    assert (finished["taskUUID"], finished["status"], finished["namespace"]) == (task["taskUUID"], "success",
                                                                                 vidmock.api_key)


def test_wait_task_of_a_task_still_running_or_unknown_is_an_error(vidmock):
    task = video_task()
    vidmock.progression("manual", task["taskUUID"])
    vidmock.post([task])
    with pytest.raises(ControlError, match="408"):
        vidmock.wait_task(task["taskUUID"], 0)
    with pytest.raises(ControlError, match="404"):
        vidmock.wait_task(str(uuid.uuid4()), 300)


@pytest.mark.parametrize("policy", ["immediate", "polls:2", "seconds:0.5"])
def test_wait_done_returns_the_final_get_response_whatever_the_progression(vidmock, policy):
    task = video_task()
    vidmock.progression(policy, task["taskUUID"])
    vidmock.post([task])
    status, body = vidmock.wait_done(task["taskUUID"])
    assert status == 200 and [item["status"] for item in body["data"]] == ["success"]
    assert vidmock.call("GET", f"tasks/{task['taskUUID']}")["policy"] == policy

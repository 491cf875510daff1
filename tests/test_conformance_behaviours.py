"""The behaviour suite: hypothesis drives the mock through generated server behaviour (via the
control API) against a small client, finds a planted bug, shrinks it to the smallest behaviour
that shows it, and passes the fixed client."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid

import pytest
from hypothesis import HealthCheck, find, given, settings

from conformance.behaviours import SUCCESS, Behaviour, Refusal, apply, behaviours, fault_specs
from conformance.mock import ControlError

TRANSIENT = (429, 500, 502, 503, 504)
SEARCH = settings(max_examples=60, deadline=None, database=None)
CHECK = settings(max_examples=15, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


class GaveUp(Exception):
    pass


class TaskFailed(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class PollingClient:
    """Submit, then poll until done; retries transient refusals after Retry-After. With
    ``gives_up_on_5xx`` it carries the planted bug: a 5xx on a poll is taken as the end."""

    def __init__(self, vidmock, headers: dict, gives_up_on_5xx: bool = False):
        self.vidmock, self.headers, self.gives_up_on_5xx = vidmock, headers, gives_up_on_5xx

    def post(self, tasks: list) -> tuple[int, dict, float]:
        headers = {"Authorization": f"Bearer {self.vidmock.api_key}", "Content-Type": "application/json",
                   **self.headers}
        request = urllib.request.Request(self.vidmock.http_url, json.dumps(tasks).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read()), 0.0
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read()), float(error.headers.get("Retry-After") or 0)

    def run(self, task: dict) -> list[dict]:
        while True:
            status, body, wait = self.post([task])
            if status not in TRANSIENT:
                break
            time.sleep(wait)
        for _ in range(500):
            status, body, wait = self.post([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
            if status in TRANSIENT:
                if self.gives_up_on_5xx and status >= 500:
                    raise GaveUp(status)
                time.sleep(wait)
                continue
            for error in body.get("errors", []):
                raise TaskFailed(error["code"])
            done = [item for item in body["data"] if item["status"] == "success"]
            if done:
                return done
            time.sleep(0.01)
        raise AssertionError("the task never ended")


def video_task() -> dict:
    return {"taskType": "videoInference", "taskUUID": str(uuid.uuid4()), "model": "alibaba:wan@2.7",
            "positivePrompt": "a heron in reeds", "width": 1280, "height": 720, "duration": 2, "seed": 7}


def client_copes(vidmock, behaviour: Behaviour, *, gives_up_on_5xx: bool) -> bool:
    """Does the client end as the behaviour says it should: the videos, or the task's error?"""
    task = video_task()
    headers = apply(behaviour, vidmock, task["taskUUID"])
    client = PollingClient(vidmock, headers, gives_up_on_5xx)
    try:
        videos = client.run(task)
    except TaskFailed as failure:
        return failure.code == behaviour.outcome
    except GaveUp:
        return False
    return behaviour.outcome == SUCCESS and len(videos) == behaviour.number_results


def test_the_planted_bug_is_found_and_shrunk_to_one_5xx_on_a_poll(vidmock):
    smallest = find(behaviours(), lambda b: not client_copes(vidmock, b, gives_up_on_5xx=True), settings=SEARCH)
    assert smallest == Behaviour(poll_refusals=(Refusal(500),))


def test_the_fixed_client_copes_with_every_behaviour(vidmock):
    @CHECK
    @given(behaviours())
    def copes(behaviour):
        assert client_copes(vidmock, behaviour, gives_up_on_5xx=False), behaviour

    copes()


def test_every_generated_behaviour_is_accepted_by_the_control_api(vidmock):
    @CHECK
    @given(behaviours(max_results=4, webhooks=True, ws=True, max_delay_ms=50))
    def accepted(behaviour):
        task_uuid = str(uuid.uuid4())
        apply(behaviour, vidmock, task_uuid)
        installed = [f for f in vidmock.call("GET", "/__mock/faults")["faults"] if f["match"].get("taskUUID") == task_uuid]
        assert len(installed) == len(fault_specs(behaviour, task_uuid))

    accepted()


def test_the_scenario_helper_refuses_unknown_names(vidmock):
    with pytest.raises(ControlError):
        vidmock.scenario("no-such-scenario")

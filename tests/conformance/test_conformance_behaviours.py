"""The behaviour suite: hypothesis drives the mock through generated server behaviour (via the
control API) against a small client, finds a planted bug, shrinks it to the smallest behaviour
that shows it, and passes the fixed client. Two planted bugs: giving up on a 5xx poll, and
appending poll results without de-duplicating them (sdk-python's bug, docs/clients.md),
which only staggered results (separate, cumulative polls) reveal."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid

import pytest
from hypothesis import HealthCheck, find, given, settings

from conformance.behaviours import SUCCESS, Behaviour, Refusal, apply, behaviours, fault_specs
from conformance.client import ControlError

TRANSIENT = (429, 500, 502, 503, 504)
SEARCH = settings(max_examples=60, deadline=None, database=None)
# Two results, staggered and a success outcome together are rarer draws: a larger budget keeps the
# search from coming back empty (find stops at the first failing example, so it rarely costs more).
WIDE_SEARCH = settings(SEARCH, max_examples=200)
CHECK = settings(max_examples=15, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


class GaveUp(Exception):
    pass


class TaskFailed(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class PollingClient:
    """Submit, then poll until ``numberResults`` results are in; retries transient refusals after
    Retry-After, and keeps each result once (by videoUUID). Planted bugs: with ``gives_up_on_5xx``
    a 5xx on a poll is taken as the end; with ``dedupes=False`` the results of every reply are
    appended as they come, as sdk-python does, so a cumulative reply counts a result twice."""

    def __init__(self, vidmock, headers: dict, gives_up_on_5xx: bool = False, dedupes: bool = True):
        self.vidmock, self.headers, self.gives_up_on_5xx, self.dedupes = vidmock, headers, gives_up_on_5xx, dedupes

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
        wanted, results = task.get("numberResults", 1), []
        while True:
            status, body, wait = self.post([task])
            if status not in TRANSIENT:
                break
            time.sleep(wait)
        deadline = time.monotonic() + 60  # a time budget, not a poll count: renders are slow under load
        while time.monotonic() < deadline:
            status, body, wait = self.post([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
            if status in TRANSIENT:
                if self.gives_up_on_5xx and status >= 500:
                    raise GaveUp(status)
                time.sleep(wait)
                continue
            for error in body.get("errors", []):
                raise TaskFailed(error["code"])
            for item in body["data"]:
                known = any(result["videoUUID"] == item.get("videoUUID") for result in results)
                if item["status"] == "success" and not (self.dedupes and known):
                    results.append(item)
            if len(results) >= wanted:
                return results[:wanted]
            time.sleep(0.01)
        raise AssertionError("the task never ended")


def video_task() -> dict:
    return {"taskType": "videoInference", "taskUUID": str(uuid.uuid4()), "model": "alibaba:wan@2.7",
            "positivePrompt": "a heron in reeds", "width": 1280, "height": 720, "duration": 2, "seed": 7}


def client_copes(vidmock, behaviour: Behaviour, *, gives_up_on_5xx: bool = False, dedupes: bool = True) -> bool:
    """Does the client end as the behaviour says it should: N distinct videos, or the task's error?"""
    task = {**video_task(), "numberResults": behaviour.number_results}
    headers = apply(behaviour, vidmock, task["taskUUID"])
    client = PollingClient(vidmock, headers, gives_up_on_5xx, dedupes)
    try:
        videos = client.run(task)
    except TaskFailed as failure:
        return failure.code == behaviour.outcome
    except GaveUp:
        return False
    distinct = {video["videoUUID"] for video in videos}
    return not behaviour.fails and len(videos) == len(distinct) == behaviour.number_results


def test_the_planted_bug_is_found_and_shrunk_to_one_5xx_on_a_poll(vidmock):
    smallest = find(behaviours(), lambda b: not client_copes(vidmock, b, gives_up_on_5xx=True), settings=SEARCH)
    assert smallest == Behaviour(poll_refusals=(Refusal(500),))


def test_the_duplicating_client_is_found_and_shrunk_to_two_staggered_results(vidmock):
    """sdk-python's bug: results appended without de-duplication. Only separate, cumulative polls
    show it, and the smallest behaviour that does is two results, staggered, nothing else."""
    smallest = find(behaviours(max_results=3, staggered=True),
                    lambda b: not client_copes(vidmock, b, dedupes=False), settings=WIDE_SEARCH)
    assert smallest == Behaviour(number_results=2, staggered=True)


def test_the_duplicating_client_copes_when_results_come_together(vidmock):
    @CHECK
    @given(behaviours(max_results=3))
    def copes(behaviour):
        assert client_copes(vidmock, behaviour, dedupes=False), behaviour

    copes()


def test_the_fixed_client_copes_with_every_behaviour(vidmock):
    @CHECK
    @given(behaviours(max_results=3, staggered=True))
    def copes(behaviour):
        assert client_copes(vidmock, behaviour, gives_up_on_5xx=False), behaviour

    copes()


def test_the_fixed_client_copes_when_generations_fail_alone(vidmock):
    """A failed generation is an errors[] item of the task: the client ends in its error."""
    @CHECK
    @given(behaviours(max_results=3, staggered=True, per_generation=True))
    def copes(behaviour):
        assert client_copes(vidmock, behaviour), behaviour

    copes()
    one_of_two = Behaviour(outcome="providerError", number_results=2, failed_generations=(1,))
    past_the_end = Behaviour(outcome="providerError", number_results=1, failed_generations=(1,))
    assert (one_of_two.fails, past_the_end.fails) == (True, False)
    assert client_copes(vidmock, one_of_two) and client_copes(vidmock, past_the_end)


def test_every_generated_behaviour_is_accepted_by_the_control_api(vidmock):
    @CHECK
    @given(behaviours(max_results=4, staggered=True, webhooks=True, ws=True, max_delay_ms=50, per_generation=True))
    def accepted(behaviour):
        task_uuid = str(uuid.uuid4())
        apply(behaviour, vidmock, task_uuid)
        installed = [f for f in vidmock.call("GET", "/__mock/faults")["faults"] if f["match"].get("taskUUID") == task_uuid]
        assert len(installed) == len(fault_specs(behaviour, task_uuid))

    accepted()


def test_the_scenario_helper_refuses_unknown_names(vidmock):
    with pytest.raises(ControlError):
        vidmock.scenario("no-such-scenario")

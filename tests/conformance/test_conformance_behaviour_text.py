"""Behaviours as text and as control calls for a whole key: the JSON of ``--behaviour`` round-trips
every generated behaviour, bad JSON is refused with the reason, the description reads as English,
and a behaviour installed for a key acts on tasks whose taskUUIDs it never knew."""

from __future__ import annotations

import inspect
import json
import time
import urllib.error
import urllib.request
import uuid

import pytest
from hypothesis import HealthCheck, given, settings

from conformance.behaviour_text import describe, dumps, from_json, summary, to_json
from conformance.behaviours import (Behaviour, Drop, Refusal, WebhookTrouble, apply_to_key, behaviours,
                                    ends_in_error, fault_specs, key_behaviours, scenario_catalogue)
from mockserver.contract.errors import kind_of
from mockserver.control.bodies import definitions

SCENARIOS = ("rate-limit-once", "flaky-5xx", "slow", "staggered-results")
LIVE = settings(max_examples=15, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@settings(max_examples=200, deadline=None, database=None)
@given(key_behaviours("all", SCENARIOS) | behaviours(max_results=4, staggered=True, webhooks=True, ws=True,
                                                     max_delay_ms=900, scenarios=SCENARIOS))
def test_every_behaviour_survives_its_json(behaviour):
    assert from_json(dumps(behaviour)) == behaviour
    assert from_json(to_json(behaviour)) == behaviour


def test_the_json_names_only_what_differs_from_all_is_well():
    assert to_json(Behaviour()) == {}
    assert summary(Behaviour()) == "no trouble" and describe(Behaviour()) == []
    behaviour = Behaviour(submit_refusals=(Refusal(429, 1), Drop("reset")), poll_refusals=(Refusal(429, 3), Refusal(503)),
                          progression="polls:2", outcome="providerError", staggered=True,
                          webhook=WebhookTrouble(500, True, False), reply_delay_ms=250, scenarios=("slow",))
    assert to_json(behaviour) == {
        "submit": [429, "reset"], "poll": [{"status": 429, "retryAfter": 3}, 503], "progression": "polls:2",
        "staggered": True, "outcome": "providerError", "webhook": {"delayMs": 500, "duplicate": True, "reorder": False},
        "delayMs": 250, "scenarios": ["slow"]}
    assert describe(behaviour) == [
        "submits of each task: 429 (Retry-After 1 s), then connection reset (request lost), then served",
        "polls of each task: 429 (Retry-After 3 s), then 503, then served",
        "each task answers processing to 2 poll(s)",
        "results released one more per poll (staggered)",
        "every task ends in error providerError",
        "webhooks 500 ms late, doubled",
        "every reply 250 ms late",
        "scenario slow"]


@pytest.mark.parametrize("text, reason", [
    ("[1]", "the behaviour is a JSON object"),
    ("{nope", "the behaviour is not JSON"),
    ('{"submits": [429]}', "unknown behaviour field(s) submits"),
    ('{"submit": [418]}', "418 is neither a status (429, 500, 502, 503, 504) nor a drop"),
    ('{"submit": ["unplug"]}', "'unplug' is not a drop; drops are reset, reset-processed, close1011, abort"),
    ('{"poll": [{"status": 503, "retryAfter": 2}]}', "retryAfter goes with status 429 only"),
    ('{"progression": "polls:x"}', "expected immediate, polls:N, seconds:T or manual"),
    ('{"outcome": "explodes"}', "outcome must be one of success, timeoutProvider, providerError, nsfw"),
    ('{"delayMs": -1}', "delayMs must be a whole number within 0..300000"),
    ('{"staggered": "yes"}', "staggered must be true or false"),
    ('{"webhook": {"late": true}}', "webhook is an object with delayMs, duplicate, reorder"),
])
def test_bad_behaviour_json_is_refused_with_its_reason(text, reason):
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        from_json(text)


def test_the_driver_speaks_the_fault_engines_vocabulary():
    """behaviours.py drives the server over HTTP only; its statuses and task errors are the ones the
    fault engine (docs/control.md) knows."""
    from conformance import behaviours as module

    fault_spec = definitions()["FaultSpec"]["properties"]
    assert module.TRANSIENT_STATUSES == tuple(sorted(fault_spec["status"]["enum"]))
    assert all(kind_of(code).http_status == 200 for code in module.TASK_ERRORS)  # outcomes, not refusals
    assert set(module.WS_DROPS) | {module.REST_DROPS[0]} <= set(fault_spec["action"]["enum"])
    assert "mockserver.control" not in inspect.getsource(module)


# --- over the control API ------------------------------------------------------------------------


def post(vidmock, tasks, key=None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(vidmock.http_url, json.dumps(tasks).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {key or vidmock.api_key}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def video_task() -> dict:
    return {"taskType": "videoInference", "taskUUID": str(uuid.uuid4()), "model": "alibaba:wan@2.7",
            "positivePrompt": "a kite over dunes", "width": 1280, "height": 720, "duration": 2, "seed": 3}


def test_a_key_behaviour_meets_each_task_it_never_knew(vidmock):
    """Installed before the client exists: each new task's first submit gets 503, its first poll
    429 with Retry-After 2, then it answers processing once, then it fails with providerError."""
    behaviour = from_json('{"submit": [503], "poll": [{"status": 429, "retryAfter": 2}], '
                          '"progression": "polls:1", "outcome": "providerError"}')
    apply_to_key(behaviour, vidmock, scenario_catalogue(vidmock))
    for task in (video_task(), video_task()):
        statuses = [post(vidmock, [task])[0], post(vidmock, [task])[0]]
        poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
        limited, replies = post(vidmock, poll), [post(vidmock, poll)[1]]
        while "errors" not in replies[-1] and len(replies) < 200:  # until rendered and due
            time.sleep(0.05)
            replies.append(post(vidmock, poll)[1])
        assert statuses == [503, 200]
        assert (limited[0], limited[2]["Retry-After"]) == (429, "2")
        assert replies[0]["data"][0]["status"] == "processing"
        assert [(e["code"], e["status"]) for e in replies[-1]["errors"]] == [("providerError", "error")]


def test_a_key_behaviour_stays_in_its_key(vidmock):
    apply_to_key(from_json('{"submit": [502]}'), vidmock, scenario_catalogue(vidmock))
    assert post(vidmock, [video_task()], key=f"other-{uuid.uuid4()}")[0] == 200
    assert post(vidmock, [video_task()])[0] == 502


def test_scenarios_of_a_key_behaviour_are_installed_for_the_key(vidmock):
    catalogue = scenario_catalogue(vidmock)
    apply_to_key(Behaviour(scenarios=("flaky-5xx", "staggered-results")), vidmock, catalogue)
    task = video_task()
    assert [post(vidmock, [task])[0] for _ in range(3)] == [502, 503, 200]
    poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
    assert vidmock.call("GET", f"/__mock/tasks/{task['taskUUID']}")["resultRelease"] == "staggered"
    assert post(vidmock, poll)[0] == 200


@pytest.mark.parametrize("scenario, release", [("staggered-results", "staggered"),
                                               ("generation-results", "generations")])
def test_a_scenarios_result_release_is_installed_for_the_key(vidmock, scenario, release):
    apply_to_key(Behaviour(scenarios=(scenario,)), vidmock, scenario_catalogue(vidmock))
    task = {**video_task(), "numberResults": 2}
    assert post(vidmock, [task])[0] == 200
    assert vidmock.call("GET", f"/__mock/tasks/{task['taskUUID']}")["resultRelease"] == release


def test_which_behaviours_end_without_a_usable_video(vidmock):
    catalogue = scenario_catalogue(vidmock)
    assert ends_in_error(Behaviour(scenarios=("provider-error",)), catalogue)
    assert ends_in_error(Behaviour(scenarios=("flaky-5xx", "nsfw")), catalogue)
    assert ends_in_error(Behaviour(outcome="nsfw"), catalogue)
    assert not ends_in_error(Behaviour(scenarios=("flaky-5xx", "webhook-late")), catalogue)


def test_every_generated_key_behaviour_is_accepted_by_the_control_api(vidmock):
    catalogue = scenario_catalogue(vidmock)

    @LIVE
    @given(key_behaviours("all", tuple(catalogue)))
    def accepted(behaviour):
        vidmock.reset()
        apply_to_key(behaviour, vidmock, catalogue)
        installed = vidmock.call("GET", "/__mock/faults")["faults"]
        scenario_faults = [spec for name in behaviour.scenarios for spec in catalogue[name]["faults"]]
        assert len(installed) == len(fault_specs(behaviour)) + len(scenario_faults)

    accepted()

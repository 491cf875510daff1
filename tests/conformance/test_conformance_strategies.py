"""Self-conformance: the generated requests and vidmock agree, offline and over HTTP.

Valid tasks of every mode are accepted; every breaker (one per schema keyword and parameter, one
per profile rule) yields a task that ``validate_task`` rejects with exactly the expected code and
parameter, and the running server does the same, in reply shapes that match schemas/responses/.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft7Validator

from conformance.strategies import (
    MODES, all_breakers, invalid_tasks, media_storage_tasks, task_details_tasks, video_tasks,
)
from mockserver.contract import model_profile, response_schema
from mockserver.validation import validate_task

REPO = Path(__file__).resolve().parents[2]
OFFLINE = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PER_BREAKER = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.filter_too_much])
LIVE = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                     HealthCheck.function_scoped_fixture,
                                                                     HealthCheck.filter_too_much])
BREAKERS = all_breakers()


def shape(name: str) -> Draft7Validator:
    return Draft7Validator(response_schema(name))


def post(vidmock, tasks: list) -> tuple[int, dict]:
    request = urllib.request.Request(vidmock.http_url, data=json.dumps(tasks).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {vidmock.api_key}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


GENERATORS = {**{mode: video_tasks(mode) for mode in MODES},
              **{f"mediaStorage {operation}": media_storage_tasks(operation) for operation in ("upload", "delete")}}


@pytest.mark.parametrize("generator", list(GENERATORS))
def test_every_generated_valid_task_is_accepted(generator):
    @OFFLINE
    @given(GENERATORS[generator])
    def accepted(task):
        assert validate_task(task) == []

    accepted()


@pytest.mark.parametrize("breaker", BREAKERS, ids=[b.rule for b in BREAKERS])
def test_each_breaker_gives_exactly_its_code_and_parameter(breaker):
    @PER_BREAKER
    @given(breaker.breaches)
    def rejected(breach):
        wire = [error.to_wire() for error in validate_task(breach.task)]
        assert [(e["code"], e["parameter"]) for e in wire] == [(breach.code, breach.parameter)], breach

    rejected()


def test_breakers_cover_every_schema_keyword_and_profile_rule():
    rules = {b.rule.split(" of ")[0] for b in BREAKERS}
    assert {"required", "type", "enum", "minimum", "maximum", "minLength", "maxLength",
            "minItems", "maxItems", "pattern", "anyOf", "additionalProperties"} <= rules
    assert {"unknownModel model", "invalidModel model"} <= rules  # model's const, with its two codes
    assert {f"profile rule {rule['id']}" for rule in model_profile()["rules"]} <= {b.rule for b in BREAKERS}


@pytest.mark.parametrize("path", sorted((REPO / "fixtures" / "requests").glob("*.json")), ids=lambda p: p.stem)
def test_every_request_fixture_validates(path):
    tasks = json.loads(path.read_text(encoding="utf-8"))
    for task in tasks if isinstance(tasks, list) else [tasks]:
        assert validate_task(task) == [], path.name


def answered(vidmock, task: dict, name: str) -> dict:
    """The one data item a live server answers a valid task with, checked against its shape."""
    status, body = post(vidmock, [task])
    assert status == 200 and list(body) == ["data"], body
    shape(name).validate(body["data"][0])
    return body["data"][0]


def test_live_server_acks_valid_tasks_in_the_ack_shape(vidmock):
    @LIVE
    @given(video_tasks(live=True))
    def acked(task):
        answered(vidmock, task, "ack")
        status, body = post(vidmock, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
        for item in body.get("data", []):
            shape("processing" if item["status"] == "processing" else "success").validate(item)

    acked()


def test_live_server_rejects_each_breach_with_its_code(vidmock):
    @LIVE
    @given(invalid_tasks(live=True))
    def rejected(breach):
        status, body = post(vidmock, [breach.task])
        assert status == 400 and body["data"] == [], body
        shape("error").validate(body["errors"][0])
        assert (body["errors"][0]["code"], body["errors"][0]["parameter"]) == (breach.code, breach.parameter)

    rejected()


def test_live_server_stores_generated_media_and_details_them_in_their_shapes(vidmock):
    @LIVE
    @given(media_storage_tasks(live=True))
    def stored(task):
        task["taskUUID"] = str(uuid.uuid4())  # examples replayed while shrinking must not conflict
        answered(vidmock, task, "mediaStorage")
        details = answered(vidmock, {"taskType": "getTaskDetails", "taskUUID": task["taskUUID"]}, "getTaskDetails")
        assert details["request"] == [task]

    stored()


def test_live_server_finds_no_details_of_tasks_it_never_had(vidmock):
    @LIVE
    @given(task_details_tasks())
    def unknown(task):
        status, body = post(vidmock, [task])
        assert status == 400 and body["errors"][0]["code"] == "taskFailedOrNotFound", body

    unknown()


def test_live_server_auth_and_ping_replies_match_their_shapes(vidmock):
    status, body = post(vidmock, [{"taskType": "authentication", "apiKey": vidmock.api_key},
                                  {"taskType": "ping", "ping": True, "taskUUID": str(uuid.uuid4())}])
    assert status == 200
    shape("envelope").validate(body)
    shape("authentication").validate(body["data"][0])
    shape("pong").validate(body["data"][1])

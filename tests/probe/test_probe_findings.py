"""vidmock probe finds where an upstream answers dry runs otherwise than vidmock, and shrinks each
disagreement to the smallest request that still shows it."""

from __future__ import annotations

import copy

import pytest

from conformance.probe_questions import form_value
from probe_support import run_probe, without_uuid
from probe_support import upstream, vidmock_url  # noqa: F401 - fixtures

MODEL = "alibaba:wan@2.7"
TASK = {"taskType": "videoInference", "model": MODEL}


def only(report: dict, kind: str) -> list[dict]:
    return [f for f in report["findings"] if f["kind"] == kind]


async def test_a_faithful_upstream_gives_no_findings(upstream):
    faithful = await upstream()
    status, report, _ = await run_probe(faithful.url, requests=200)
    assert status == 0
    assert report["findings"] == []
    assert report["sent"] == 200 and report["agreed"] == report["sent"]
    assert len(faithful.received) == 200


@pytest.mark.slow  # a whole probe run and its shrinking (the quick tier keeps the faithful run, a size and a shape finding)
async def test_an_upstream_accepting_longer_videos_is_found_and_shrunk_to_the_duration_alone(upstream):
    async def longer(task, up):
        if isinstance(task.get("duration"), int) and 15 < task["duration"] <= 20:
            status, body = await up.vidmock({**task, "duration": 15})
            return status, body, {}
        return None

    status, report, _ = await run_probe((await upstream(longer)).url, fail_on_drift=True)
    assert status == 1
    [finding] = report["findings"]
    assert finding["kind"] == "verdict"
    assert without_uuid(finding["request"]) == {**TASK, "positivePrompt": "a", "width": 1280, "height": 720,
                                                "duration": 16}
    assert finding["upstream"]["accepted"] is True and finding["upstream"]["status"] == 200
    assert finding["vidmock"] == {"accepted": False, "status": 400, "code": "unsupportedDuration",
                                  "parameter": "duration", "cost": None}
    assert finding["reproduce"].startswith("vidmock probe --case '{")
    assert '"duration":16' in finding["reproduce"] and "--upstream http://127.0.0.1:" in finding["reproduce"]


async def test_an_upstream_refusing_a_size_vidmock_accepts_is_found_and_shrunk(upstream):
    async def no_square(task, up):
        if (task.get("width"), task.get("height")) == (1440, 1440):
            status, body = await up.vidmock({**task, "width": 1441})  # vidmock's own refusal, shaped as it shapes it
            return status, body, {}
        return None

    status, report, _ = await run_probe((await upstream(no_square)).url)
    assert status == 0  # findings, but no --fail-on-drift
    [finding] = report["findings"]
    assert finding["kind"] == "verdict"
    assert without_uuid(finding["request"]) == {**TASK, "positivePrompt": "a", "width": 1440, "height": 1440}
    assert finding["upstream"]["code"] == "unsupportedModelResolution"
    assert finding["vidmock"]["accepted"] is True


@pytest.mark.slow  # a whole probe run and its shrinking (the quick tier keeps the faithful run, a size and a shape finding)
async def test_an_upstream_billing_1080p_otherwise_is_one_cost_finding_at_the_smallest_request(upstream):
    async def dearer(task, up):
        status, body = await up.vidmock(task)
        if status == 200 and task.get("width", 0) * task.get("height", 0) > 1280 * 1088:
            body = copy.deepcopy(body)
            body["data"][0]["cost"] = round(body["data"][0]["cost"] * 1.1, 6)
        return status, body, {}

    _, report, _ = await run_probe((await upstream(dearer)).url)
    [finding] = report["findings"]
    assert finding["kind"] == "cost"
    assert without_uuid(finding["request"]) == {**TASK, "positivePrompt": "a", "width": 1920, "height": 1080}
    assert finding["vidmock"]["cost"] == round(0.1506375 * 5, 6)
    assert finding["upstream"]["cost"] == round(finding["vidmock"]["cost"] * 1.1, 6)


@pytest.mark.slow  # a whole probe run and its shrinking (the quick tier keeps the faithful run, a size and a shape finding)
async def test_an_upstream_naming_an_error_otherwise_is_one_code_finding_shrunk_to_the_field(upstream):
    async def renamed(task, up):
        status, body = await up.vidmock(task)
        for error in body.get("errors", []):
            if error["code"] == "unsupportedDuration":
                error["code"] = "invalidDuration"
        return status, body, {}

    _, report, _ = await run_probe((await upstream(renamed)).url)
    [finding] = report["findings"]
    assert finding["kind"] == "code"
    assert without_uuid(finding["request"]) == {**TASK, "duration": 1}
    assert (finding["upstream"]["code"], finding["vidmock"]["code"]) == ("invalidDuration", "unsupportedDuration")


@pytest.mark.slow  # a whole probe run and its shrinking (the quick tier keeps the faithful run, a size and a shape finding)
async def test_an_upstream_naming_another_parameter_is_a_parameter_finding(upstream):
    async def other_parameter(task, up):
        status, body = await up.vidmock(task)
        for error in body.get("errors", []):
            if error.get("parameter") == "seed":
                error["parameter"] = "inputs.seed"
        return status, body, {}

    _, report, _ = await run_probe((await upstream(other_parameter)).url)
    [finding] = report["findings"]
    assert finding["kind"] == "parameter"
    assert without_uuid(finding["request"]) == {**TASK, "seed": -1}
    assert (finding["upstream"]["parameter"], finding["vidmock"]["parameter"]) == ("inputs.seed", "seed")


async def test_dry_run_items_shaped_otherwise_are_one_shape_finding(upstream):
    async def flagged(task, up):
        status, body = await up.vidmock(task)
        for item in body.get("data", []):
            item["dryRun"] = True
            item.pop("taskUUID")
        return status, body, {}

    _, report, _ = await run_probe((await upstream(flagged)).url)
    [finding] = report["findings"]
    assert finding["kind"] == "shape"
    assert "data[0]: only upstream has dryRun; only vidmock has taskUUID" in finding["message"]
    assert "breaks responses/dryRun.json" in finding["message"]
    # the smallest task both accept: one frame image, which makes size and prompt optional
    assert without_uuid(finding["request"]) == {**TASK, "inputs": {"frameImages": [form_value("dataURI")]}}


async def test_an_unreadable_refusal_is_a_shape_finding_carrying_the_body(upstream):
    async def plain_text(task, up):
        status, body = await up.vidmock(task)
        return (status, "Bad Request: width\n", {}) if status != 200 else (status, body, {})

    _, report, _ = await run_probe((await upstream(plain_text)).url)
    [finding] = report["findings"]
    assert finding["kind"] == "shape"
    assert finding["verbatim"] == "Bad Request: width\n"
    assert without_uuid(finding["request"]) == TASK


@pytest.mark.slow  # a whole probe run and its shrinking (the quick tier keeps the faithful run, a size and a shape finding)
async def test_the_same_seed_asks_the_same_questions_in_the_same_order(upstream):
    first, second = await upstream(), await upstream()
    await run_probe(first.url, requests=160, seed=42)
    await run_probe(second.url, requests=160, seed=42)
    assert first.tasks == second.tasks and len(first.tasks) == 160


async def test_a_case_is_asked_after_the_canary_alone(upstream):
    up = await upstream()
    case = {**TASK, "positivePrompt": "a", "width": 960, "height": 960, "duration": 3}
    status, report, _ = await run_probe(up.url, case=case)
    assert status == 0 and report["sent"] == 2
    assert [without_uuid(task) for task in up.tasks][1] == case


async def test_costs_within_one_unit_of_the_last_decimal_agree_as_the_drift_judge_has_it(upstream):
    async def rounding(task, up):
        status, body = await up.vidmock(task)
        for item in body.get("data", []):
            item["cost"] = round(item["cost"] + 0.000001, 6)
        return status, body, {}

    status, report, _ = await run_probe((await upstream(rounding)).url, requests=130, fail_on_drift=True)
    assert status == 0 and report["findings"] == []

"""Job progression policies, failures, TTLs and the hooks the control plane and delivery use.

Time-based behaviour runs on a ManualClock: nothing here sleeps to let time pass.
"""

from __future__ import annotations

import asyncio

import pytest

from conformance.client import MockClient
from conftest import KEY, new_uuid, video_task
from mockserver.core.clock import ManualClock
from mockserver.jobs.store import Progression
from mockserver.media.synth import SynthesisError
from mockserver.state import JOBS, MEDIA


async def submitted(api: MockClient, **fields) -> dict:
    task = video_task(**fields)
    status, body = await api.post([task])
    assert status == 200, body
    return task


async def rendered(server, task: dict) -> None:
    """Wait until the job's videos exist (whatever its policy reports)."""
    job = server.app[JOBS].get("test-key", task["taskUUID"])
    await asyncio.wait_for(server.app[JOBS].wait_rendered(job), 30)


def statuses(body: dict) -> list[str]:
    return [item.get("status") for item in body.get("data", [])] + [e.get("status") for e in body.get("errors", [])]


@pytest.mark.parametrize("text, expected", [
    ("immediate", Progression("immediate")), ("manual", Progression("manual")),
    ("polls:3", Progression("polls", 3)), ("seconds:1.5", Progression("seconds", 1.5)),
])
def test_progression_parses_and_prints_back(text, expected):
    assert Progression.parse(text) == expected and str(expected) == text


@pytest.mark.parametrize("text", ["", "polls", "polls:-1", "seconds:x", "later", "manual:3"])
def test_bad_progression_is_rejected(text):
    with pytest.raises(ValueError):
        Progression.parse(text)


async def test_immediate_is_success_as_soon_as_the_video_exists(server, http):
    api = MockClient(server.base_url, KEY, session=http)
    task = await submitted(api)
    await rendered(server, task)
    _, body = await api.poll(task["taskUUID"])
    assert statuses(body) == ["success"]


async def test_a_cached_video_finishes_the_job_at_submit_without_a_task(server, http):
    api = MockClient(server.base_url, KEY, session=http)
    first = await submitted(api, seed=77)
    await rendered(server, first)
    again = await submitted(api, seed=77)  # same spec: the synthesizer knows the file
    job = server.app[JOBS].get("test-key", again["taskUUID"])
    assert job.render is None and job.status == "success"
    _, body = await api.poll(again["taskUUID"])
    assert statuses(body) == ["success"] and body["data"][0]["seed"] == 77
    status, _, video = await api.get(body["data"][0]["videoURL"])
    assert status == 200 and video[4:8] == b"ftyp"


async def test_a_cached_video_still_follows_the_progression_policy(make_server, http):
    server = await make_server(progression="polls:1")
    api = MockClient(server.base_url, KEY, session=http)
    first = await submitted(api, seed=78)
    await rendered(server, first)
    again = await submitted(api, seed=78)
    assert [statuses((await api.poll(again["taskUUID"]))[1]) for _ in range(2)] == [["processing"], ["success"]]


async def test_polls_n_answers_processing_n_times_then_success(make_server, http):
    server = await make_server(progression="polls:2")
    api = MockClient(server.base_url, KEY, session=http)
    task = await submitted(api)
    await rendered(server, task)
    replies = [await api.poll(task["taskUUID"]) for _ in range(3)]
    assert replies[0] == (200, {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"],
                                          "status": "processing"}]})
    assert [statuses(body) for _, body in replies] == [["processing"], ["processing"], ["success"]]


async def test_seconds_t_follows_the_injected_clock(make_server, http):
    clock = ManualClock()
    server = await make_server(progression="seconds:30", clock=clock)
    api = MockClient(server.base_url, KEY, session=http)
    task = await submitted(api)
    await rendered(server, task)
    clock.advance(29.9)
    assert statuses((await api.poll(task["taskUUID"]))[1]) == ["processing"]
    clock.advance(0.1)
    assert statuses((await api.poll(task["taskUUID"]))[1]) == ["success"]


async def test_manual_stays_processing_until_completed(make_server, http):
    server = await make_server(progression="manual")
    api = MockClient(server.base_url, KEY, session=http)
    task = await submitted(api)
    await rendered(server, task)
    assert statuses((await api.poll(task["taskUUID"]))[1]) == ["processing"]
    await server.app[JOBS].complete("test-key", task["taskUUID"])
    assert statuses((await api.poll(task["taskUUID"]))[1]) == ["success"]


async def test_manual_fail_reports_the_error_in_errors_with_status(make_server, http):
    server = await make_server(progression="manual")
    api = MockClient(server.base_url, KEY, session=http)
    task = await submitted(api)
    server.app[JOBS].fail("test-key", task["taskUUID"], "timeoutProvider", "The provider did not answer.")
    status, error = await api.one_error([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
    assert status == 200  # the poll succeeded; the task failed
    assert error == {"code": "timeoutProvider", "message": "The provider did not answer.", "status": "error",
                     "documentation": "https://runware.ai/docs/models/alibaba-wan2-7",
                     "taskUUID": task["taskUUID"]}


async def test_policy_per_task_beats_per_namespace_beats_default(make_server, http):
    server = await make_server(progression="immediate")
    jobs, api = server.app[JOBS], MockClient(server.base_url, KEY, session=http)
    pinned = new_uuid()
    jobs.policies.set_namespace("test-key", Progression("manual"))
    jobs.policies.set_task("test-key", pinned, Progression("polls", 1))
    by_namespace, by_task = await submitted(api), await submitted(api, taskUUID=pinned)
    other_key = await submitted(api.as_key("other"))
    for task in (by_namespace, by_task):
        await rendered(server, task)
    await asyncio.wait_for(jobs.wait_rendered(jobs.get("other", other_key["taskUUID"])), 30)
    assert statuses((await api.poll(by_namespace["taskUUID"]))[1]) == ["processing"]
    assert [statuses((await api.poll(pinned))[1]) for _ in range(2)] == [["processing"], ["success"]]
    assert statuses((await api.as_key("other").poll(other_key["taskUUID"]))[1]) == ["success"]


async def test_synthesis_failure_ends_the_task_in_error(server, http):
    class BrokenSynthesizer:
        def finished(self, spec):
            return None  # nothing cached: the job renders in the background

        async def render_file(self, spec):
            raise SynthesisError("ffmpeg exited with 1", "Unknown encoder 'nope'")

    server.app[JOBS].synthesizer = BrokenSynthesizer()
    api = MockClient(server.base_url, KEY, session=http)
    task = await submitted(api)
    status, body = await api.wait_done(task["taskUUID"])
    assert status == 200 and body["data"] == []
    error = body["errors"][0]
    assert (error["code"], error["status"], error["taskUUID"]) == ("synthesisFailed", "error", task["taskUUID"])
    assert server.app[JOBS].get("test-key", task["taskUUID"]).synthesis_stderr == "Unknown encoder 'nope'"


async def test_on_job_finished_runs_once_per_job(server, http):
    finished = []

    async def record(job):
        finished.append((job.task_uuid, job.status, job.webhook_url))

    server.app[JOBS].on_job_finished.append(record)
    api = MockClient(server.base_url, KEY, session=http)
    task = await submitted(api, webhookURL="http://127.0.0.1:9/hook")
    await api.wait_done(task["taskUUID"])
    await api.poll(task["taskUUID"])
    await asyncio.sleep(0)
    assert finished == [(task["taskUUID"], "success", "http://127.0.0.1:9/hook")]


async def test_media_and_results_expire_after_the_task_ttl(make_server, http):
    clock = ManualClock()
    server = await make_server(clock=clock, ttl=3600)
    api = MockClient(server.base_url, KEY, session=http)
    task = await submitted(api, ttl=60)
    _, body = await api.wait_done(task["taskUUID"])
    url = body["data"][0]["videoURL"]
    clock.advance(59)
    assert (await api.get(url))[0] == 200
    clock.advance(1)
    assert (await api.get(url))[0] == 404
    server.app[JOBS].tick()
    status, error = await api.one_error([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
    assert status == 400 and error["code"] == "taskFailedOrNotFound"
    await server.app[MEDIA].sweep()
    assert not any(server.app[MEDIA].root.glob(f"{body['data'][0]['videoUUID']}.*"))


async def test_server_default_ttl_applies_when_the_task_has_none(make_server, http):
    clock = ManualClock()
    server = await make_server(clock=clock, ttl=120)
    api = MockClient(server.base_url, KEY, session=http)
    task = await submitted(api)
    _, body = await api.wait_done(task["taskUUID"])
    clock.advance(119)
    assert (await api.get(body["data"][0]["videoURL"]))[0] == 200
    clock.advance(1)
    assert (await api.get(body["data"][0]["videoURL"]))[0] == 404


async def test_ttl_starts_when_the_result_is_reported_not_when_rendered(make_server, http):
    clock = ManualClock()
    server = await make_server(clock=clock, progression="seconds:100")
    api = MockClient(server.base_url, KEY, session=http)
    task = await submitted(api, ttl=60)
    await rendered(server, task)
    clock.advance(100)
    _, body = await api.poll(task["taskUUID"])
    clock.advance(59)
    assert (await api.get(body["data"][0]["videoURL"]))[0] == 200


async def test_a_reset_releases_the_finished_jobs_it_forgets(server, http):
    api = MockClient(server.base_url, KEY, session=http)
    tasks = [await submitted(api, seed=90) for _ in range(80)]
    await asyncio.wait_for(asyncio.gather(*(rendered(server, t) for t in tasks)), 60)
    for task in tasks:
        await api.poll(task["taskUUID"])
    jobs = server.app[JOBS]
    assert len(jobs._expiries) >= 80
    jobs.reset("test-key")
    assert len(jobs._expiries) == 0  # nothing is pinned until the forgotten jobs' old expiry time

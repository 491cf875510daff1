"""vidmock probe only ever sends dry runs, within its budget and rate, and stops at the first sign
that the upstream is not answering dry runs with the key it was given."""

from __future__ import annotations

import io
import json

import pytest

from conformance.probe_run import Options, probe

from probe_support import HANG_UP, OFFLINE, PROBE_KEY, run_probe
from probe_support import upstream, vidmock_url  # noqa: F401 - fixtures

DRY_RUN = "X-Runware-Dry-Run"


class FakeTime:
    """A clock that moves only when probe sleeps: pacing is checked without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.slow  # a whole probe run, every request inspected
async def test_every_request_is_a_dry_run_of_one_task_with_nothing_the_service_would_call_or_fetch(upstream):
    up = await upstream()
    await run_probe(up.url, requests=300)
    assert len(up.received) == 300
    for headers, tasks in up.received:
        assert headers[DRY_RUN] == "1"
        assert headers["Authorization"] == f"Bearer {PROBE_KEY}"
        assert len(tasks) == 1
        text = json.dumps(tasks[0])
        assert "webhookURL" not in text and "uploadEndpoint" not in text
        assert "http://" not in text and "https://" not in text


@pytest.mark.slow  # a whole probe run, every request inspected
async def test_url_inputs_are_asked_about_only_when_allowed(upstream):
    up = await upstream()
    await run_probe(up.url, requests=200, url_inputs=True)
    with_urls = [task for task in up.tasks if "https://example.com/" in json.dumps(task)]
    assert with_urls and all("webhookURL" not in json.dumps(task) for task in up.tasks)


async def test_no_more_requests_than_the_budget_and_the_report_says_how_many(upstream):
    up = await upstream()
    status, report, _ = await run_probe(up.url, requests=7)
    assert status == 0
    assert len(up.received) == 7 and report["sent"] == 7
    assert any("--requests 7 spent" in note for note in report["notes"])


async def test_requests_are_spaced_by_the_rate(upstream):
    time = FakeTime()
    seen: list[float] = []

    async def stamp(task, up):
        seen.append(time.now)
        return None

    up = await upstream(stamp)
    options = Options(upstream=up.url, key=PROBE_KEY, requests=6, rate=2.0, seed=3, as_json=True)
    await probe(options, OFFLINE, out=io.StringIO(), err=io.StringIO(), clock=time.clock, sleep=time.sleep)
    assert len(seen) == 6
    assert all(later - earlier >= 0.5 for earlier, later in zip(seen, seen[1:]))
    assert time.sleeps and all(s <= 0.5 for s in time.sleeps)


async def test_a_429_is_waited_out_as_retry_after_says_and_sent_again(upstream):
    time = FakeTime()
    refused = []

    async def busy_once(task, up):
        if len(up.received) == 2 and not refused:
            refused.append(task)
            return 429, {"errors": [{"code": "rateLimitExceeded", "message": "slow down"}]}, {"Retry-After": "7"}
        return None

    up = await upstream(busy_once)
    status, report, _ = await run_probe(up.url, requests=5, clock=time.clock, sleep=time.sleep)
    assert status == 0 and report["findings"] == []
    assert 7.0 in time.sleeps
    assert up.tasks[1] == up.tasks[2] == refused[0]  # the same task again, after the wait
    assert report["sent"] == 5 and len(up.received) == 5  # the refused attempt spent budget too


async def test_a_429_without_retry_after_backs_off_doubling(upstream):
    time = FakeTime()

    async def busy_twice(task, up):
        if len(up.received) in (2, 3):
            return 429, {"errors": [{"code": "rateLimitExceeded", "message": "slow down"}]}, {}
        return None

    up = await upstream(busy_twice)
    status, _, _ = await run_probe(up.url, requests=5, clock=time.clock, sleep=time.sleep)
    assert status == 0
    assert [s for s in time.sleeps if s >= 1] == [2.0, 4.0]


async def test_a_canary_answered_as_a_real_run_stops_the_run_before_anything_else_is_sent(upstream):
    async def really_runs(task, up):
        return 200, {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"], "status": "processing"}]}, {}

    up = await upstream(really_runs)
    status, report, err = await run_probe(up.url)
    assert status == 2
    assert len(up.received) == 1
    assert "not plainly a dry run" in report["stopped"] and "'processing'" in report["stopped"]
    assert "stopped" in err


async def test_a_canary_answered_with_a_video_stops_the_run(upstream):
    async def made_a_video(task, up):
        return 200, {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"], "cost": 0.2,
                               "videoUUID": task["taskUUID"], "videoURL": "https://vm.example/v.mp4"}]}, {}

    up = await upstream(made_a_video)
    status, report, _ = await run_probe(up.url)
    assert status == 2 and len(up.received) == 1
    assert "videoURL, videoUUID" in report["stopped"]


async def test_a_canary_answered_without_a_cost_stops_the_run_quoting_the_body(upstream):
    async def unpriced(task, up):
        return 200, {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"], "estimate": "0.2 USD"}]}, {}

    up = await upstream(unpriced)
    status, report, _ = await run_probe(up.url)
    assert status == 2 and len(up.received) == 1
    assert "no data item quotes a cost" in report["stopped"] and '"estimate": "0.2 USD"' in report["stopped"]


async def test_a_later_answer_that_ran_a_task_stops_the_run_too(upstream):
    async def runs_the_tenth(task, up):
        if len(up.received) == 10:
            return 200, {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"], "status": "processing"}]}, {}
        return None

    up = await upstream(runs_the_tenth)
    status, report, _ = await run_probe(up.url)
    assert status == 2 and len(up.received) == 10
    assert "ran a task instead of a dry run" in report["stopped"]


async def test_the_first_authentication_refusal_stops_the_run_keeping_the_report(upstream):
    async def refuse_later(task, up):
        if len(up.received) >= 4:
            return 401, {"data": [], "errors": [{"code": "invalidApiKey", "message": f"Invalid API key {PROBE_KEY}"}]}, {}
        return None

    up = await upstream(refuse_later)
    status, report, err = await run_probe(up.url)
    assert status == 2
    assert len(up.received) == 4
    assert report["sent"] == 4 and report["agreed"] == 3
    assert "refused the API key (HTTP 401)" in report["stopped"]
    assert PROBE_KEY not in json.dumps(report) and PROBE_KEY not in err
    assert "<redacted>" in report["stopped"]


async def test_an_upstream_that_stops_answering_ends_the_run_with_the_report_so_far(upstream):
    async def gone_after_five(task, up):
        return HANG_UP if len(up.received) > 5 else None

    up = await upstream(gone_after_five)
    status, report, _ = await run_probe(up.url)
    assert status == 2
    assert "stopped answering" in report["stopped"]
    assert report["sent"] == 6 and report["agreed"] == 5


async def test_offline_refuses_an_upstream_off_loopback_before_sending_anything():
    status, report, err = await run_probe("https://api.runware.ai/v1")
    assert status == 2
    assert "VIDMOCK_OFFLINE is set" in report["stopped"] and report["sent"] == 0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_progress_goes_to_a_terminal_line_by_line(upstream):
    up = await upstream()
    out, err = io.StringIO(), Terminal()
    options = Options(upstream=up.url, key=PROBE_KEY, requests=3, rate=1000.0, seed=3)
    assert await probe(options, OFFLINE, out=out, err=err) == 0
    lines = err.getvalue().splitlines()
    assert lines[0] == "[1/3] canary: agreed" and len(lines) == 3
    assert lines[1].startswith("[2/3] size 1281x720 (near miss of 1280x720): agreed")
    assert out.getvalue().startswith(f"vidmock probe of {up.url} (seed 3)\n3 dry run(s) sent, 3 answered alike\n")

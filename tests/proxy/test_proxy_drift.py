"""Upstreams that drift on purpose, behind ``vidmock proxy``: each drift is reported with the
right direction, code and parameter (GET /__mock/drift, the journal), over REST and WebSocket,
while the client still gets exactly what the upstream said."""

from __future__ import annotations

import pytest

from conftest import video_task
from conformance.client import MockClient
from mockserver.traffic.redaction import key_fingerprint
from proxy_support import (PROXY_KEY, DriftingUpstream, Socket, accepts_anything, cost_off_the_rates,
                           extra_ack_field, missing_video_uuid, renamed_error_fields, start_proxy, ws_url)

pytestmark = pytest.mark.timeout(120)

CASES = {
    "an extra field in the ack": (extra_ack_field, dict(), True,
                                  {("reply", "unexpectedField", "queuePosition")}),
    "a success without videoUUID": (missing_video_uuid, dict(), True,
                                    {("reply", "missingField", "videoUUID")}),
    "a cost off the profile's rates": (cost_off_the_rates, dict(includeCost=True), True,
                                       {("reply", "costMismatch", "cost")}),
    "an invalid request accepted": (accepts_anything, dict(width=1000, height=1000), False,
                                    {("request", "unsupportedModelResolution", "width, height")}),
    "an error object of another shape": (renamed_error_fields, dict(duration=99), False,
                                         {("reply", "missingField", "code"), ("reply", "missingField", "message"),
                                          ("reply", "errorCodeDiffers", "duration")}),
}


@pytest.fixture
async def honest(make_server):
    return await make_server(api_keys=(PROXY_KEY,), progression="polls:1")


async def drifting_proxy(honest, mutate, tmp_path):
    upstream = await DriftingUpstream(honest.base_url, mutate).start()
    proxy = await start_proxy(upstream.base_url, tmp_path / "proxy-data")
    return upstream, proxy


@pytest.mark.parametrize("transport", ["rest", "ws"])
@pytest.mark.parametrize("case", list(CASES))
async def test_each_drift_is_reported_with_its_direction_code_and_parameter(case, transport, honest, tmp_path, http):
    mutate, fields, runs, expected = CASES[case]
    upstream, proxy = await drifting_proxy(honest, mutate, tmp_path)
    task = video_task(**fields)
    try:
        if transport == "rest":
            client = MockClient(proxy.base_url, PROXY_KEY, session=http)
            status, ack = await client.post([task])
            if runs:
                _, done = await client.wait_done(task["taskUUID"])
        else:
            async with http.ws_connect(ws_url(proxy.base_url)) as ws:
                socket = Socket(ws)
                await socket.authenticate()
                ack = await socket.ask([task])
                if runs:
                    done = await socket.wait_done(task["taskUUID"])
        # the client sees the drift itself: the proxy relays, it does not repair
        _, honest_ack = mutate([task], 200, {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]})
        if mutate in (extra_ack_field, accepts_anything):
            assert ack == honest_ack
        if mutate is missing_video_uuid:
            assert "videoUUID" not in done["data"][0] and done["data"][0]["status"] == "success"
        if mutate is renamed_error_fields:
            assert set(ack["errors"][0]) == {"errorCode", "errorMessage", "taskUUID"}

        admin = MockClient(proxy.base_url, None, session=http)
        drift = await admin.call("GET", "drift")
        found = {(f["direction"], f["code"], f["parameter"]) for f in drift["findings"]}
        assert found == expected, drift
        assert drift["total"] == len(drift["findings"])
        assert {f["taskUUID"] for f in drift["findings"]} == {task["taskUUID"]}

        # each finding names its journal entry, which carries it too, filed under the key's fingerprint
        journal = {entry["id"]: entry for entry in await admin.journal()}
        for finding in drift["findings"]:
            entry = journal[finding["entry"]]
            assert {k: v for k, v in finding.items() if k != "entry"} in entry["drift"]
            assert entry["namespace"] == key_fingerprint(PROXY_KEY) and entry["transport"] == transport
        by_key = await MockClient(proxy.base_url, key_fingerprint(PROXY_KEY), session=http).call("GET", "drift")
        assert by_key["findings"] == drift["findings"]
        direction = next(iter(expected))[0]
        only = await admin.call("GET", "drift", params={"direction": direction})
        assert only["findings"] and all(f["direction"] == direction for f in only["findings"])
    finally:
        await proxy.stop()
        await upstream.stop()


async def test_a_reset_clears_the_findings_but_not_their_total(honest, tmp_path, http):
    upstream, proxy = await drifting_proxy(honest, extra_ack_field, tmp_path)
    try:
        await MockClient(proxy.base_url, PROXY_KEY, session=http).post([video_task()])
        admin = MockClient(proxy.base_url, None, session=http)
        assert len((await admin.call("GET", "drift"))["findings"]) == 1
        reset = await admin.call("POST", "reset")
        assert reset["reset"]["driftFindings"] == 1
        assert await admin.call("GET", "drift") == {"findings": [], "total": 1}
    finally:
        await proxy.stop()
        await upstream.stop()


async def test_a_seed_the_task_did_not_ask_for_and_too_few_results_are_findings(honest, tmp_path, http):
    def wrong_results(tasks, status, body):
        successes = [item for item in body.get("data", []) if item.get("status") == "success"]
        if successes:
            successes[0]["seed"] = 7
            body["data"] = successes[:1]
        return status, body

    upstream, proxy = await drifting_proxy(honest, wrong_results, tmp_path)
    try:
        client = MockClient(proxy.base_url, PROXY_KEY, session=http)
        task = video_task(seed=100, numberResults=2)
        await client.post([task])
        await client.wait_done(task["taskUUID"])
        drift = await MockClient(proxy.base_url, None, session=http).call("GET", "drift")
        assert {(f["code"], f["parameter"]) for f in drift["findings"]} == {("seedMismatch", "seed"),
                                                                            ("resultCount", "numberResults")}
    finally:
        await proxy.stop()
        await upstream.stop()


async def test_with_record_media_a_video_of_another_size_than_asked_is_a_finding(honest, tmp_path, http):
    """The upstream renders 1920x1080 (and bills it) when the task asks for 1280x720: the cost is
    off the 720p rate, and the downloaded video's size is not the one asked for."""
    def bigger(tasks):
        return [{**task, "width": 1920, "height": 1080} if task.get("taskType") == "videoInference" else task
                for task in tasks]

    upstream = await DriftingUpstream(honest.base_url, lambda t, s, b: (s, b), rewrite=bigger).start()
    proxy = await start_proxy(upstream.base_url, tmp_path / "proxy-data", record_media=tmp_path / "media")
    try:
        client = MockClient(proxy.base_url, PROXY_KEY, session=http)
        task = video_task(includeCost=True)
        await client.post([task])
        _, done = await client.wait_done(task["taskUUID"])
        drift = await MockClient(proxy.base_url, None, session=http).call("GET", "drift")
        assert {(f["direction"], f["code"], f["parameter"]) for f in drift["findings"]} == {
            ("reply", "costMismatch", "cost"), ("reply", "sizeMismatch", "videoURL")}
        size = next(f for f in drift["findings"] if f["code"] == "sizeMismatch")
        assert size["message"] == "The video is 1920x1080; the task asked for 1280x720."
        assert (tmp_path / "media" / f"{done['data'][0]['videoUUID']}.mp4").stat().st_size > 1000
    finally:
        await proxy.stop()
        await upstream.stop()

"""``X-Vidmock-Scenario``: misbehaviour chosen per request (or per socket), from the catalogue."""

from __future__ import annotations


from conformance.client import MockClient
from conftest import KEY, video_task


def scenario(names: str) -> dict:
    return {"X-Vidmock-Scenario": names}


async def test_rate_limit_once_refuses_each_task_once(api: MockClient):
    first, second = video_task(), video_task()
    for task in (first, second):
        status, body = await api.post([task], headers=scenario("rate-limit-once"))
        assert (status, body["errors"][0]["code"]) == (429, "rateLimitExceeded")
        assert (await api.post([task], headers=scenario("rate-limit-once")))[0] == 200


async def test_flaky_5xx_fails_twice_then_accepts(api: MockClient):
    task = video_task()
    statuses = [(await api.post([task], headers=scenario("flaky-5xx")))[0] for _ in range(3)]
    assert statuses == [502, 503, 200]


async def test_provider_timeout_with_polls_composes(api: MockClient):
    task = video_task()
    await api.post([task], headers=scenario("provider-timeout, polls:2"))
    for _ in range(2):
        assert (await api.poll(task["taskUUID"]))[1]["data"][0]["status"] == "processing"
    _, body = await api.wait_done(task["taskUUID"])
    assert body["errors"][0]["code"] == "timeoutProvider"


async def test_nsfw_and_manual(api: MockClient, control: MockClient):
    task = video_task()
    await api.post([task], headers=scenario("nsfw,manual"))
    assert (await api.poll(task["taskUUID"]))[1]["data"][0]["status"] == "processing"
    await control.call("POST", f"tasks/{task['taskUUID']}/complete")
    assert (await api.poll(task["taskUUID"]))[1]["data"][0]["NSFWContent"] is True


async def test_slow_delay_is_journalled(api: MockClient, control: MockClient):
    await api.post([{"taskType": "ping"}], headers=scenario("slow"))
    [entry] = await control.journal()
    assert entry["faults"][0]["source"] == "scenario:slow" and 200 <= entry["faults"][0]["delayMs"] <= 600


async def test_unknown_scenario_is_a_runware_error(api: MockClient, control: MockClient):
    status, body = await api.post([video_task()], headers=scenario("rate-limit-once, chaos-monkey"))
    error = body["errors"][0]
    assert (status, error["code"]) == (400, "unsupportedScenario")
    assert "chaos-monkey" in error["message"] and "rate-limit-once" in error["allowedValues"]
    assert (await control.journal())[0]["response"]["status"] == 400


async def test_socket_scenario_from_query(server, http):
    async with http.ws_connect(f"{server.base_url}/v1?scenario=rate-limit-once") as ws:
        await ws.send_json([{"taskType": "authentication", "apiKey": "test-key"}])
        assert "data" in await ws.receive_json()
        task = video_task()
        await ws.send_json([task])
        assert (await ws.receive_json())["errors"][0]["code"] == "rateLimitExceeded"
        await ws.send_json([task])
        assert (await ws.receive_json())["data"][0]["taskUUID"] == task["taskUUID"]


async def test_socket_scenario_from_upgrade_header_and_unknown_refused(server, http):
    async with http.ws_connect(f"{server.base_url}/v1", headers=scenario("nsfw")) as ws:
        await ws.send_json([{"taskType": "authentication", "apiKey": "test-key"}])
        await ws.receive_json()
        task = video_task()
        await ws.send_json([task])
        await ws.receive_json()
    async with http.get(f"{server.base_url}/v1?scenario=nope", headers={"Upgrade": "websocket"}) as response:
        assert response.status == 400 and (await response.json())["errors"][0]["code"] == "unsupportedScenario"
    _, body = await MockClient(server.base_url, KEY, session=http).wait_done(task["taskUUID"])
    assert body["data"][0]["NSFWContent"] is True


async def test_catalogue_is_listed(control: MockClient):
    listed = {s["name"]: s for s in (await control.call("GET", "scenarios"))["scenarios"]}
    assert {"rate-limit-once", "slow", "flaky-5xx", "provider-timeout", "nsfw", "polls:N", "manual"} <= set(listed)
    assert listed["rate-limit-once"]["faults"][0]["status"] == 429

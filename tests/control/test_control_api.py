"""The rest of ``/__mock/``: progression, tasks, the virtual clock, reset, per-key isolation, the
control token and the OpenAPI description."""

from __future__ import annotations

import asyncio
import io
import uuid


from conformance.client import MockClient
from conftest import KEY, data_uri, png_bytes, video_task
from mockserver.config import ServerConfig
from mockserver.control.bodies import check
from mockserver.control.exposure import warn_if_control_exposed
from mockserver.control.openapi import openapi_document
from mockserver.core.clock import ManualClock
from openapi_spec_validator import validate as validate_openapi
from mockserver.contract.pricing import task_cost


# -- progression and tasks ----------------------------------------------------------------------------

async def test_namespace_progression_polls(api: MockClient, control: MockClient):
    assert await control.call("PUT", "progression", {"policy": "polls:2"}) == {"namespace": api.api_key, "policy": "polls:2"}
    task = video_task()
    await api.post([task])
    statuses = [(await api.poll(task["taskUUID"]))[1]["data"][0]["status"] for _ in range(2)]
    assert statuses == ["processing", "processing"]
    assert (await api.wait_done(task["taskUUID"]))[1]["data"][0]["status"] == "success"
    other = video_task()
    await api.as_key(f"{api.api_key}-other").post([other])  # another key keeps the server default (immediate)
    assert (await api.as_key(f"{api.api_key}-other").wait_done(other["taskUUID"]))[1]["data"][0]["status"] == "success"


async def test_task_progression_before_submit_and_manual_fail(api: MockClient, control: MockClient):
    task = video_task()
    await control.call("PUT", f"tasks/{task['taskUUID']}/progression", {"policy": "manual"})
    await api.post([task])
    assert (await api.poll(task["taskUUID"]))[1]["data"][0]["status"] == "processing"
    failed = await control.call("POST", f"tasks/{task['taskUUID']}/fail", {"code": "providerError", "message": "boom"})
    assert failed["status"] == "error" and failed["error"]["code"] == "providerError"
    _, body = await api.poll(task["taskUUID"])
    assert (body["errors"][0]["code"], body["errors"][0]["message"]) == ("providerError", "boom")


async def test_tasks_listing(api: MockClient, control: MockClient):
    done, pending = video_task(), video_task()
    await api.post([done])
    await control.call("PUT", f"tasks/{pending['taskUUID']}/progression", {"policy": "manual"})
    await api.post([pending])
    await api.wait_done(done["taskUUID"])
    tasks = (await control.call("GET", "tasks"))["tasks"]
    assert [(t["taskUUID"], t["status"], t["policy"]) for t in tasks] == [
        (pending["taskUUID"], "processing", "manual"), (done["taskUUID"], "success", "immediate")]
    assert tasks[1]["results"][0]["videoURL"].endswith(".mp4")
    completed = await control.call("POST", f"tasks/{pending['taskUUID']}/complete")
    assert completed["status"] == "success"
    assert (await control.call("GET", f"tasks/{pending['taskUUID']}"))["status"] == "success"


async def test_a_task_description_has_prompt_size_duration_cost_and_a_poster_per_video(api: MockClient, http):
    shown = video_task(positivePrompt="a heron at dawn", width=720, height=1280, duration=3, numberResults=2,
                       includeCost=True)
    await api.post([shown])
    _, done = await api.wait_done(shown["taskUUID"])
    ended = video_task()
    await api.call("PUT", f"tasks/{ended['taskUUID']}/progression", {"policy": "manual"})
    await api.post([ended])
    await api.fail(ended["taskUUID"])

    described = await api.call("GET", f"tasks/{shown['taskUUID']}")
    check("Task", described)
    assert (described["prompt"], described["width"], described["height"], described["duration"]) == (
        "a heron at dawn", 720, 1280, 3)
    assert described["cost"] == done["data"][0]["cost"] == done["data"][1]["cost"]
    assert [p["videoUUID"] for p in described["posters"]] == [item["videoUUID"] for item in done["data"]]
    for poster, item in zip(described["posters"], done["data"]):
        assert poster["posterURL"] == item["videoURL"].removesuffix(".mp4") + ".jpg"
        async with http.get(poster["posterURL"]) as response:
            assert (response.status, response.content_type) == (200, "image/jpeg")
    errored = await api.call("GET", f"tasks/{ended['taskUUID']}")
    check("Task", errored)
    assert errored["status"] == "error" and errored["posters"] == []  # a failed task's videos are never served
    assert errored["cost"] == task_cost(errored["task"], 1280, 720) > 0  # priced though it did not ask


async def test_bad_progression_requests(control: MockClient):
    status, body = await control.request("PUT", "progression", {"policy": "sometimes"})
    assert status == 400 and body["errors"][0]["code"] == "invalidControlRequest"
    status, body = await control.request("POST", "tasks/00000000-0000-4000-8000-000000000000/complete")
    assert status == 404 and body["errors"][0]["code"] == "controlResourceNotFound"


# -- virtual clock ------------------------------------------------------------------------------------

async def test_advance_completes_seconds_policy_and_expires_media(make_server, http):
    server = await make_server(virtual_clock=True, progression="seconds:30")
    api, control = MockClient(server.base_url, KEY, session=http), MockClient(server.base_url, KEY, session=http)
    clock = await control.call("GET", "clock")
    assert clock["frozen"] is True and clock["offset"] == 0
    task = video_task(ttl=60)
    await api.post([task])
    assert (await api.poll(task["taskUUID"]))[1]["data"][0]["status"] == "processing"
    advanced = await control.call("POST", "clock/advance", {"seconds": 30})
    assert advanced["now"] == clock["now"] + 30
    _, body = await api.wait_done(task["taskUUID"])  # the render may still be finishing; time is not the issue
    url = body["data"][0]["videoURL"]
    assert (await api.get(url))[0] == 200
    await control.call("POST", "clock/advance", {"seconds": 61})
    assert (await api.get(url))[0] == 404
    status, _ = await control.request("POST", "clock/advance", {"seconds": -1})
    assert status == 400


async def test_always_on_offset_clock(make_server, http):
    server = await make_server(clock=ManualClock(100.0))
    control = MockClient(server.base_url, KEY, session=http)
    assert (await control.call("POST", "clock/advance", {"seconds": 5}))["now"] == 105.0


# -- reset and isolation --------------------------------------------------------------------------------

async def test_reset_one_namespace(api: MockClient, control: MockClient):
    mine, theirs = video_task(), video_task()
    await api.post([mine])
    await api.as_key(f"{api.api_key}-other").post([theirs])
    await control.fault(action="status", status=500, times="unlimited")
    await control.call("PUT", "progression", {"policy": "manual"})
    reset = await control.call("POST", "reset")
    assert reset["reset"]["faults"] == 1 and reset["reset"]["journalEntries"] == 1
    assert await control.journal() == [] and (await control.call("GET", "tasks"))["tasks"] == []
    assert (await api.post([mine]))[0] == 200  # the taskUUID is free again, no fault, default policy
    assert (await api.wait_done(mine["taskUUID"]))[1]["data"][0]["status"] == "success"
    assert len((await control.as_key(f"{api.api_key}-other").call("GET", "tasks"))["tasks"]) == 1


async def test_reset_forgets_uploaded_images(api: MockClient, control: MockClient, http):
    upload = {"taskType": "imageUpload", "taskUUID": str(uuid.uuid4()), "image": data_uri(png_bytes(64, 48))}
    _, body = await api.post([upload])
    image_uuid, image_url = body["data"][0]["imageUUID"], body["data"][0]["imageURL"]
    theirs = {**upload, "taskUUID": str(uuid.uuid4())}
    _, their_body = await api.as_key(f"{api.api_key}-other").post([theirs])
    reset = await control.call("POST", "reset")
    assert reset["reset"]["uploads"] == 1
    status, body = await api.post([video_task(inputs={"frameImages": [image_uuid]})])
    assert (status, body["errors"][0]["code"]) == (400, "unknownInputUUID")
    async with http.get(image_url) as response:
        assert response.status == 404
    their_image = their_body["data"][0]["imageUUID"]
    status, _ = await api.as_key(f"{api.api_key}-other").post([video_task(inputs={"frameImages": [their_image]})])
    assert status == 200  # the other key's upload survives


async def test_admin_reset_resets_everything(server, api: MockClient, control: MockClient):
    """Every key's state: on a server of its own."""
    await api.post([video_task()])
    await api.as_key(f"{api.api_key}-other").post([video_task()])
    await control.as_key(None).call("POST", "reset")
    assert await control.as_key(None).journal() == []
    assert (await control.as_key(None).call("GET", "tasks"))["tasks"] == []


async def test_two_keys_in_parallel_see_only_their_own(server, http):
    async def run(key: str) -> tuple[str, list[str]]:
        api, control = MockClient(server.base_url, key, session=http), MockClient(server.base_url, key, session=http)
        await control.fault(action="status", status=503, times=1)
        uuids = []
        for _ in range(3):
            task = video_task()
            uuids.append(task["taskUUID"])
            while (await api.post([task]))[0] != 200:
                pass
        return key, uuids

    results = dict(await asyncio.gather(*(run(key) for key in ("alice", "bob"))))
    for key, uuids in results.items():
        control = MockClient(server.base_url, key, session=http)
        entries = await control.journal()
        assert {e["namespace"] for e in entries} == {key}
        assert [e["response"]["status"] for e in entries] == [503, 200, 200, 200]
        assert {t["taskUUID"] for t in (await control.call("GET", "tasks"))["tasks"]} == set(uuids)
        assert [f["namespace"] for f in (await control.call("GET", "faults"))["faults"]] == [key]


# -- control token ----------------------------------------------------------------------------------------

async def test_control_token_guards_everything_but_health(make_server, http):
    server = await make_server(control_token="s3cret")
    anonymous, trusted = MockClient(server.base_url, KEY, session=http), MockClient(server.base_url, KEY, session=http, token="s3cret")
    status, body = await anonymous.request("GET", "journal")
    assert (status, body["errors"][0]["code"]) == (401, "invalidControlToken")
    assert (await anonymous.request("GET", "health"))[0] == 200
    assert (await MockClient(server.base_url, KEY, session=http, token="wrong").request("POST", "reset"))[0] == 401
    assert (await trusted.request("GET", "journal"))[0] == 200
    assert (await MockClient(server.base_url, KEY, session=http).post([{"taskType": "ping"}]))[0] == 200  # the API itself is open


def test_warning_for_exposed_control_api():
    stream = io.StringIO()
    warn_if_control_exposed(ServerConfig(host="0.0.0.0"), stream)
    assert "WARNING" in stream.getvalue() and "--control-token" in stream.getvalue()
    for quiet in (ServerConfig(host="127.0.0.1"), ServerConfig(host="::1"), ServerConfig(host="0.0.0.0", control_token="t")):
        stream = io.StringIO()
        warn_if_control_exposed(quiet, stream)
        assert stream.getvalue() == ""


# -- OpenAPI ----------------------------------------------------------------------------------------------

async def test_openapi_describes_every_control_route(server, control: MockClient):
    served = await control.call("GET", "openapi.json")
    assert served == openapi_document()
    assert served["openapi"].startswith("3.1")
    described = {(path, method.upper()) for path, item in served["paths"].items() for method in item}
    registered = {(route.resource.canonical, route.method) for route in server.app.router.routes()
                  if route.resource.canonical.startswith("/__mock/") and route.method != "HEAD"}
    assert registered - described == set(), "routes missing from control/openapi.py"
    for path, item in served["paths"].items():
        for method, operation in item.items():
            assert method in ("get", "put", "post", "delete") and operation["responses"], (path, method)
            assert all(code.isdigit() for code in operation["responses"])
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path":
                    assert "{" + parameter["name"] + "}" in path


def test_the_control_document_is_valid_openapi_3_1():
    validate_openapi(openapi_document())


async def test_openapi_requires_a_body_exactly_where_an_empty_one_is_refused(api: MockClient, control: MockClient):
    """schemathesis found ``POST /__mock/tasks/{id}/fail`` documented with a required body that
    the route does not need (every field has a default): an absent body is read as ``{}``."""
    task = video_task()
    await api.post([task])
    bodies = {(path, method): operation["requestBody"]["required"]
              for path, item in openapi_document()["paths"].items() for method, operation in item.items()
              if "requestBody" in operation}
    assert bodies[("/__mock/tasks/{taskUUID}/fail", "post")] is False
    for (path, method), required in bodies.items():
        relative = path.removeprefix("/__mock/").replace("{taskUUID}", task["taskUUID"])
        status, reply = await control.request(method.upper(), relative)
        assert (status == 400) == required, (path, status, reply)
        if required:
            assert reply["errors"][0]["code"] == "invalidControlRequest"

"""How-to: point a client at the ``vidmock`` fixture, then check what it did.

The plugin is registered by installing vidmock (entry point ``pytest11``): no conftest needed.
Each test gets a fresh API key, so its tasks and journal are its own.
"""

import json
import urllib.error
import urllib.request
import uuid

import aiohttp
import pytest


def text_to_video() -> dict:
    return {"taskType": "videoInference", "taskUUID": str(uuid.uuid4()), "model": "alibaba:wan@2.7",
            "positivePrompt": "a paper boat on a puddle", "width": 1280, "height": 720, "duration": 2}


async def test_howto_an_async_client(vidmock):
    # vidmock.http_url is ".../v1"; vidmock.ws_url and vidmock.base_url are there too.
    task = text_to_video()
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {vidmock.api_key}"}) as session:
        async with session.post(vidmock.http_url, json=[task]) as response:
            assert (await response.json())["data"] == [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]
        async with session.post(vidmock.http_url, json=[{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]) as response:
            assert (await response.json())["data"][0]["status"] in ("processing", "success")

    # Every request of this test, with the reply it got:
    assert [entry["tasks"][0]["taskType"] for entry in vidmock.journal()] == ["videoInference", "getResponse"]
    # And the client rules (docs/conformance.md) over that journal; fails with a readable report:
    vidmock.assert_conforms()


def test_howto_assert_conforms_reports_what_is_wrong(vidmock):
    request = urllib.request.Request(vidmock.http_url, json.dumps([{**text_to_video(), "width": "1280"}]).encode(),
                                     {"Authorization": f"Bearer {vidmock.api_key}"}, method="POST")
    try:
        urllib.request.urlopen(request)
    except urllib.error.HTTPError as error:
        assert error.code == 400

    with pytest.raises(pytest.fail.Exception, match=r"(?s)FAIL VM001 .*invalidWidth"):
        vidmock.assert_conforms()
    # Or check a selection of rules only:
    vidmock.assert_conforms(rules=["VM002", "VM008"])

"""The official SDKs when results arrive in separate polls (``vidmock serve --results staggered``).

With numberResults 2 the mock answers, once the task is done, ``[s1, processing]`` then
``[s1, s2]``: each reply re-sends the results released so far, as the real API may. sdk-python
(PyPI ``runware`` 0.5.24) appends every reply's results without de-duplicating them, so it
returns ``[s1, s1]``: a real SDK bug (docs/clients.md) that vidmock surfaces, and this test
pins it. When the SDK is fixed the first test fails, and should then expect two distinct videos.
runware-sdk and sdk-js key results by videoUUID and return both videos.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

from test_sdks import KEY, MockServer, run_client, sdks_installed, serve  # noqa: F401

pytestmark = pytest.mark.sdk

TWO = ("--number-results", "2")


@pytest.fixture(scope="module")
def staggered_server(sdks_installed, tmp_path_factory) -> Iterator[MockServer]:  # noqa: F811
    yield from serve("immediate", tmp_path_factory.mktemp("staggered"), "--results", "staggered")


@pytest.fixture(scope="module")
def together_server(sdks_installed, tmp_path_factory) -> Iterator[MockServer]:  # noqa: F811
    yield from serve("immediate", tmp_path_factory.mktemp("together"), "--results", "together")


def video_uuids(outcome: dict) -> list[str]:
    assert outcome["ok"], outcome
    assert all(r["status"] == "success" and r["videoURL"] for r in outcome["results"]), outcome
    return [result["videoUUID"] for result in outcome["results"]]


def poll_replies(server: MockServer, task_uuid: str) -> list[list[str]]:
    """The statuses of every getResponse reply the task got, from the journal (the SDK's key)."""
    request = urllib.request.Request(f"{server.base_url}/__mock/journal?taskUUID={task_uuid}",
                                     headers={"Authorization": f"Bearer {KEY}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        entries = json.load(response)["entries"]
    return [[item["status"] for item in entry["response"]["body"]["data"]] for entry in entries
            if [task.get("taskType") for task in entry["tasks"] or []] == ["getResponse"]]


def test_sdk_python_returns_the_first_video_twice(staggered_server, record_property):
    """The sdk-python bug, reproduced: two items, one video, after two correct cumulative replies."""
    outcome, elapsed = run_client("sdk-python-ws", "t2v", staggered_server, options=TWO)
    record_property("seconds", round(elapsed, 2))
    uuids = video_uuids(outcome)
    assert len(uuids) == 2 and uuids[0] == uuids[1], f"sdk-python no longer duplicates: {outcome}"
    replies = poll_replies(staggered_server, outcome["results"][0]["taskUUID"])
    assert replies[-2:] == [["success", "processing"], ["success", "success"]], replies


@pytest.mark.parametrize("sdk", ["runware-sdk-ws", "runware-sdk-rest", "sdk-js-ws"])
def test_deduplicating_sdks_return_two_distinct_videos(sdk, staggered_server, record_property):
    outcome, elapsed = run_client(sdk, "t2v", staggered_server, options=TWO)
    record_property("seconds", round(elapsed, 2))
    uuids = video_uuids(outcome)
    assert len(uuids) == 2 and len(set(uuids)) == 2, outcome


@pytest.mark.parametrize("sdk", ["sdk-python-ws", "runware-sdk-rest", "sdk-js-ws"])
def test_every_sdk_gets_two_distinct_videos_when_results_come_together(sdk, together_server, record_property):
    """The same request against the default mode: all three are right, so the staggered
    difference is the cause."""
    outcome, elapsed = run_client(sdk, "t2v", together_server, options=TWO)
    record_property("seconds", round(elapsed, 2))
    uuids = video_uuids(outcome)
    assert len(uuids) == 2 and len(set(uuids)) == 2, outcome

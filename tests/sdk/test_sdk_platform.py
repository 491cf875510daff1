"""The platform tasks through the official SDKs, unmodified (marker ``sdk``): a dry run with
@runware/sdk-js's ``dryRun: true``, and mediaStorage + getTaskDetails with runware-sdk (REST and
WebSocket) and sdk-js."""

from __future__ import annotations

import pytest

from mockserver.contract import model_profile
from test_sdks import KEY, assert_generated_video, run_client, sdks_installed, server  # noqa: F401

pytestmark = pytest.mark.sdk

PER_SECOND_720P = model_profile()["pricing"]["perSecond"]["720p"]["default"]
PLATFORM_SDKS = ["runware-sdk-ws", "runware-sdk-rest", "sdk-js-ws"]


def test_sdk_js_dry_run_gets_the_price_and_starts_nothing(server):  # noqa: F811
    outcome, _ = run_client("sdk-js-ws", "dry-run", server, options=("--number-results", "2"))
    assert outcome["ok"], outcome
    [item] = outcome["results"]
    assert set(item) == {"taskType", "taskUUID", "cost"} and item["taskType"] == "videoInference"
    assert item["cost"] == round(PER_SECOND_720P * 2 * 2, 6)  # two videos of 2 s at 720p
    [entry] = server.get(f"/__mock/journal?taskUUID={item['taskUUID']}")["entries"]
    assert entry["dryRun"] is True and "dryRun=1" in entry["path"]  # what sdk-js put on the socket URL
    poll = server.post("/v1", [{"taskType": "getResponse", "taskUUID": item["taskUUID"]}], key=KEY)
    assert poll["errors"][0]["code"] == "taskFailedOrNotFound"  # no task was started


@pytest.mark.parametrize("sdk", PLATFORM_SDKS)
def test_sdk_stores_media_uses_its_uuid_reads_task_details_and_deletes_it(sdk, server):  # noqa: F811
    outcome, _ = run_client(sdk, "media", server)
    assert outcome["ok"], outcome
    upload, details, deleted = outcome["upload"], outcome["details"], outcome["deleted"]
    assert (upload["taskType"], upload["operation"]) == ("mediaStorage", "upload")
    assert upload["mediaURL"].endswith(f"/media/{upload['mediaUUID']}.png")
    assert_generated_video(outcome)  # 1280x720: the stored 320x180 frame's 16:9 chose the size
    assert details["taskType"] == "getTaskDetails" and details["taskUUID"] == upload["taskUUID"]
    [request] = details["request"]
    assert (request["taskType"], request["operation"], request["media"][:22]) == (
        "mediaStorage", "upload", "data:image/png;base64,")
    assert details["response"]["data"][0]["mediaUUID"] == upload["mediaUUID"]
    assert deleted == {"taskType": "mediaStorage", "taskUUID": deleted["taskUUID"], "operation": "delete",
                       "mediaUUID": upload["mediaUUID"]}

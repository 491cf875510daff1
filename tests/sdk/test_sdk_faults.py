"""An official SDK through injected faults: runware-sdk over REST retries 408/429/5xx, so a one-shot
503 and a one-shot 429 must cost it nothing but time, and the journal must show the retries."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

from test_sdks import KEY, MockServer, assert_generated_video, run_client, sdks_installed, serve  # noqa: F401

pytestmark = pytest.mark.sdk


def control(server: MockServer, method: str, path: str, body: dict | None = None) -> dict:
    """A /__mock/ call in the SDK key's namespace."""
    request = urllib.request.Request(server.base_url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@pytest.fixture
def fault_server(sdks_installed, tmp_path) -> Iterator[MockServer]:  # noqa: F811
    yield from serve("immediate", tmp_path)


def test_runware_sdk_rest_retries_through_503_and_429(fault_server):
    match = {"taskType": "videoInference"}
    control(fault_server, "POST", "/__mock/faults", {"action": "status", "status": 503, "match": match})
    control(fault_server, "POST", "/__mock/faults", {"action": "status", "status": 429, "retryAfter": 1,
                                                      "match": match})

    outcome, _ = run_client("runware-sdk-rest", "t2v", fault_server)

    assert_generated_video(outcome)
    entries = control(fault_server, "GET", "/__mock/journal")["entries"]
    submissions = [e for e in entries if "videoInference" in [t.get("taskType") for t in e["tasks"] or []]]
    assert [e["response"]["status"] for e in submissions] == [503, 429, 200]
    assert len({e["tasks"][0]["taskUUID"] for e in submissions}) == 1, "the SDK retried with the same taskUUID"
    assert submissions[1]["response"]["headers"]["Retry-After"] == "1"
    assert [f["action"] for e in submissions for f in e["faults"]] == ["status", "status"]

"""The official SDKs, unmodified, through ``vidmock proxy`` over WebSocket: a vidmock upstream
behind the proxy, the SDK pointed at the proxy. It must get its video as if it talked to the
upstream, the proxy must find no drift, and the SDK's key must not appear in the proxy's journal."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_sdks import (KEY, WEBSOCKET_SDKS, MockServer, assert_generated_video, run_client, run_vidmock,  # noqa: F401
                       sdks_installed, serve)

pytestmark = pytest.mark.sdk


def proxy(upstream: MockServer, log_dir: Path) -> Iterator[MockServer]:
    """``vidmock proxy --port 0 --upstream UPSTREAM`` in a subprocess (offline-guarded: the test
    suite sets VIDMOCK_OFFLINE=1, which the subprocess inherits)."""
    assert os.environ.get("VIDMOCK_OFFLINE") == "1"
    yield from run_vidmock(["proxy", "--upstream", upstream.base_url + "/v1"], log_dir / "vidmock-proxy.log")


@pytest.fixture(scope="module")
def upstream(sdks_installed, tmp_path_factory) -> Iterator[MockServer]:  # noqa: F811
    yield from serve("immediate", tmp_path_factory.mktemp("upstream"))


@pytest.fixture(scope="module")
def proxied(upstream, tmp_path_factory) -> Iterator[MockServer]:
    yield from proxy(upstream, tmp_path_factory.mktemp("proxy"))


@pytest.mark.parametrize("sdk", WEBSOCKET_SDKS)
def test_an_sdk_gets_its_video_through_the_proxy_and_nothing_drifts(sdk, proxied, upstream, record_property):
    before = proxied.get("/__mock/drift")["total"]
    outcome, elapsed = run_client(sdk, "t2v", proxied)
    record_property("seconds", round(elapsed, 2))
    assert_generated_video(outcome)
    [result] = outcome["results"]
    assert result["videoURL"].startswith(upstream.base_url)  # the upstream's reply, unchanged
    drift = proxied.get("/__mock/drift")
    assert drift["total"] == before, drift
    journal = proxied.get("/__mock/journal")["entries"]
    mine = [entry for entry in journal if result["taskUUID"] in json.dumps(entry["tasks"])]
    assert mine and all(entry["transport"] == "ws" and entry["drift"] == [] for entry in mine)
    assert KEY not in json.dumps(journal)


def test_an_sdk_raises_its_own_exception_for_the_upstreams_refusal(proxied):
    outcome, _ = run_client("runware-sdk-ws", "invalid-size", proxied)
    assert not outcome["ok"] and (outcome["error_class"], outcome["code"]) == ("RunwareError", "validation"), outcome
    assert "Unsupported resolution" in outcome["message"]
    deadline = time.monotonic() + 10
    while proxied.get("/__mock/health")["proxy"]["openUpstreamSockets"] and time.monotonic() < deadline:
        time.sleep(0.05)  # the SDK closed its socket; the proxy closes the upstream's behind it
    assert proxied.get("/__mock/health")["proxy"]["openUpstreamSockets"] == 0

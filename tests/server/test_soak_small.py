"""Nothing lost, scaled down: benchmarks/soak.py's own ``soak()`` at 300 tasks from 16 clients.

Exact counts only (every task acknowledged and completed, every result's webhook received exactly
once); no timing is asserted, the machine is too noisy for that.
"""

from __future__ import annotations

import pytest

from benchmarks import soak

pytestmark = pytest.mark.bench

TASKS, CLIENTS = 300, 16
SMALL_RUN_RSS_BOUND_MIB = 256


async def test_every_task_is_acknowledged_completed_and_delivered_exactly_once():
    report = await soak.soak(TASKS, CLIENTS, time_limit=120)

    assert report["unexpected_replies"] == []
    assert (report["submitted"], report["acknowledged"], report["completed"]) == (TASKS, TASKS, TASKS)
    expected_results = sum(soak.task_plan(index)["numberResults"] for index in range(TASKS))
    assert report["results"] == expected_results
    assert report["webhooks_received"] == expected_results
    assert report["check"] == {"all_acknowledged": True, "all_completed": True, "missing_webhooks": 0,
                               "duplicate_webhooks": 0, "unexpected_webhooks": 0, "malformed_webhooks": 0}
    assert report["server_health"]["jobs"] == {"processing": 0, "success": TASKS, "error": 0}
    assert report["synthesizer"]["renders"] <= soak.distinct_videos(TASKS)
    assert report["peak_rss_mib"] < SMALL_RUN_RSS_BOUND_MIB

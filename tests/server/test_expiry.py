"""The expiry heap behind the job store's and media store's housekeeping."""

from __future__ import annotations

from mockserver.core.expiry import COMPACT_SLACK, ExpiryHeap


def test_due_pops_what_is_due_earliest_first_and_keeps_the_rest():
    heap: ExpiryHeap[str] = ExpiryHeap()
    for when, name in [(5.0, "e"), (1.0, "a"), (3.0, "c"), (3.0, "c2"), (9.0, "z")]:
        heap.push(when, name)
    assert list(heap.due(3.0)) == ["a", "c", "c2"]  # equal times come out in push order
    assert list(heap.due(4.9)) == [] and len(heap) == 2
    assert list(heap.due(100.0)) == ["e", "z"] and len(heap) == 0


def test_compact_drops_stale_items_only_once_they_outnumber_the_live_ones():
    heap: ExpiryHeap[int] = ExpiryHeap()
    for item in range(200):
        heap.push(float(item), item)
    live = set(range(100))
    heap.compact(lambda item: item in live, live_count=len(live))  # 200 <= 2 * 100 + slack: kept
    assert len(heap) == 200
    live = set(range(0, 200, 10))
    heap.compact(lambda item: item in live, live_count=len(live))  # 200 > 2 * 20 + slack: rebuilt
    assert len(heap) == 20 and list(heap.due(1000.0)) == sorted(live)
    assert COMPACT_SLACK < 200 - 2 * 20

"""Expiry times kept in a heap, so periodic housekeeping costs what is due, not what is stored.

The job store and the media store push an item when its time starts; an item can go stale (its
owner forgot it, or gave it a new time and pushed it again), so the owner says which popped items
are still live. Stale items are dropped as they come due, and all at once when they would
outnumber the live ones (``compact``), so a reset or a cap eviction never pins memory until the
item's old expiry time.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
COMPACT_SLACK = 64  # stale items tolerated beyond the live count before a rebuild


class ExpiryHeap(Generic[T]):
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, T]] = []
        self._order = itertools.count()  # tie-breaker: items themselves are never compared

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, expires_at: float, item: T) -> None:
        heapq.heappush(self._heap, (expires_at, next(self._order), item))

    def due(self, now: float) -> Iterator[T]:
        """Pop every item whose time is at or before ``now``, earliest first."""
        while self._heap and self._heap[0][0] <= now:
            yield heapq.heappop(self._heap)[2]

    def compact(self, live: Callable[[T], bool], live_count: int) -> None:
        """Drop the items that are no longer live, once they are more than half the heap."""
        if len(self._heap) > 2 * live_count + COMPACT_SLACK:
            self._heap = [entry for entry in self._heap if live(entry[2])]
            heapq.heapify(self._heap)

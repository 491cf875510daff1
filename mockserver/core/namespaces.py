"""The one way a store forgets a namespace: ``reset(namespace | None)`` (DESIGN.md), where None
means every namespace. Each store says only how to find an item's namespace; these two helpers do
the forgetting, for the two shapes stores keep: a dict, and a bounded ring (``deque``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


def owned(namespace: str | None, owner: str | None) -> bool:
    """Whether an item of ``owner`` goes in a reset of ``namespace`` (None: every one)."""
    return namespace is None or owner == namespace


def forget(items: dict[K, V], namespace: str | None, owner: Callable[[K, V], str | None]) -> list[V]:
    """Remove a namespace's items from ``items`` (all when None); returns them, oldest first."""
    doomed = [key for key, value in items.items() if owned(namespace, owner(key, value))]
    return [items.pop(key) for key in doomed]


def forget_in_ring(ring: deque[T], namespace: str | None, owner: Callable[[T], str | None]) -> tuple[deque[T], int]:
    """A bounded ring without a namespace's items (empty when None), and how many went."""
    kept = [] if namespace is None else [item for item in ring if not owned(namespace, owner(item))]
    return deque(kept, maxlen=ring.maxlen), len(ring) - len(kept)

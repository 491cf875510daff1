"""Where "now" comes from, for everything that expires or waits (job progression, media TTLs).

Time is injected rather than read from ``time`` directly, so tests (and the control plane's
virtual clock) can move it without sleeping.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale; only differences are meaningful."""


class SystemClock:
    """Real monotonic time."""

    def now(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told to: deterministic TTL and ``seconds:T`` tests."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

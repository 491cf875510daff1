"""Where "now" comes from, for everything that expires or waits (job progression, media TTLs).

Time is injected rather than read from ``time`` directly, so tests (and the control plane's
``POST /__mock/clock/advance``) can move it without sleeping.
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


class AdvanceableClock:
    """The server's clock: a base clock plus an offset that only grows.

    Always on, so ``POST /__mock/clock/advance`` works on any server: ``seconds:T`` policies and
    media TTLs see the jump at once, without anyone sleeping. With ``--virtual-clock`` the base is
    frozen (a ``ManualClock``), so time moves *only* when a test advances it.
    """

    def __init__(self, base: Clock) -> None:
        self.base = base
        self.offset = 0.0

    def now(self) -> float:
        return self.base.now() + self.offset

    def advance(self, seconds: float) -> None:
        """Jump forward; time never goes back (expiries that happened stay happened)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds

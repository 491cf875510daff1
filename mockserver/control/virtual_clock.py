"""The server's clock as the control plane sees it: a base clock plus an offset that only grows.

Always on, so ``POST /__mock/clock/advance`` works on any server: ``seconds:T`` policies and media
TTLs see the jump at once, without anyone sleeping. With ``--virtual-clock`` the base is frozen
(a ``ManualClock``), so time moves *only* when a test advances it.
"""

from __future__ import annotations

from mockserver.clock import Clock


class AdvanceableClock:
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

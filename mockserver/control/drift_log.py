"""The drift log: every finding a proxying backend reported (``mockserver.traffic.drift``), with the
journal entry of the exchange it was found in, served at ``GET /__mock/drift``.

The findings arrive on the exchange's context (``ctx.findings``), through the journal's own hook
(as the journal entry shows them, secrets redacted);
the judging happens below, where the traffic is. ``total`` counts every finding ever logged, so a
reset clears the list but never hides drift from ``vidmock proxy --fail-on-drift``.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mockserver.core.namespaces import forget_in_ring

DEFAULT_SIZE = 10_000


@dataclass(frozen=True)
class LoggedFinding:
    namespace: str | None
    entry: int  # the journal entry of the exchange
    finding: dict[str, Any]  # Finding.to_json()

    def to_json(self) -> dict[str, Any]:
        return {**self.finding, "entry": self.entry}


class DriftLog:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._findings: deque[LoggedFinding] = deque(maxlen=size)
        self.total = 0
        self._codes: Counter[tuple[str, str]] = Counter()  # (direction, code) -> findings ever

    def add(self, namespace: str | None, entry: int, findings: Iterable[dict[str, Any]]) -> None:
        """Log the findings (``Finding.to_json()`` forms) of one journal entry."""
        for wire in findings:
            self._findings.append(LoggedFinding(namespace, entry, wire))
            self.total += 1
            self._codes[(wire["direction"], wire["code"])] += 1

    def findings(self, namespace: str | None = None, direction: str | None = None,
                 task_uuid: str | None = None) -> list[dict[str, Any]]:
        """Oldest first; a namespace's alone, or every one when None."""
        return [logged.to_json() for logged in self._findings
                if (namespace is None or logged.namespace == namespace)
                and (direction is None or logged.finding["direction"] == direction)
                and (task_uuid is None or logged.finding["taskUUID"] == task_uuid)]

    def reset(self, namespace: str | None = None) -> int:
        """Forget a namespace's findings (all when None); returns how many."""
        self._findings, forgotten = forget_in_ring(self._findings, namespace, lambda logged: logged.namespace)
        return forgotten

    def summary(self) -> str:
        """One line per (direction, code), for ``vidmock proxy``'s exit."""
        if not self.total:
            return "vidmock proxy: no drift found"
        lines = [f"vidmock proxy: {self.total} drift finding(s) (details: GET /__mock/drift while it runs):"]
        lines += [f"  {count:5d}  {direction:7s} {code}" for (direction, code), count in sorted(self._codes.items())]
        return "\n".join(lines)

    def stats(self) -> dict:
        return {"driftFindings": len(self._findings), "driftTotal": self.total}

"""Tasks an ``error`` fault refused with ``pollsProcessing``: getResponse for them answers
``processing`` from then on.

A user reported it of the live service: after a videoInference was refused for
insufficientCredits, getResponse for its taskUUID kept answering ``status: processing`` for hours
(reported, unconfirmed). The scenario ``credits-exhausted`` plays it, so a client that polls
without reading its submit's reply is caught; vidmock itself answers ``taskFailedOrNotFound``
for a task it never accepted.
"""

from __future__ import annotations

from mockserver.control.faults import Fault
from mockserver.core.namespaces import forget


class RefusedTasks:
    """The refused taskUUIDs of each namespace, with the fault that refused each."""

    def __init__(self) -> None:
        self._tasks: dict[str, dict[str, Fault]] = {}

    def __bool__(self) -> bool:
        return bool(self._tasks)

    def add(self, namespace: str, task_uuid: str, fault: Fault) -> None:
        self._tasks.setdefault(namespace, {})[task_uuid] = fault

    def refused_by(self, namespace: str, task_uuid: object) -> Fault | None:
        return self._tasks.get(namespace, {}).get(task_uuid) if isinstance(task_uuid, str) else None

    def reset(self, namespace: str | None = None) -> int:
        """Forget a namespace's refused tasks (all when None); returns how many."""
        return sum(len(tasks) for tasks in forget(self._tasks, namespace, lambda ns, _: ns))

"""What ``getTaskDetails`` answers: each task as submitted, and the reply last given for it.

A task is recorded when it is submitted (``videoInference``, ``imageUpload``, ``mediaStorage``),
with its ack, result or error; every later ``getResponse`` of it replaces the reply with the one
just given (processing, success items, or its error). The record is the server's: a reply a fault
broke on the way still counts, as the API's own record of its answer would. A refused task is
recorded too, unless its taskUUID already names an accepted one (a ``conflictTaskUUID`` must not
overwrite the task it conflicts with). Dry runs are never recorded: their taskUUIDs stay free.

Bounded like the journal: by tasks per namespace and by bytes overall (the request body's size
shared among its tasks, so a stored request with an inline image weighs what it carried), oldest
first.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

PER_NAMESPACE = 1000  # tasks kept per API key
MAX_BYTES = 256 * 1024 * 1024  # request bytes kept overall


@dataclass
class TaskRecord:
    request: dict  # the task as submitted (the parsed object: vidmock never changes it)
    response: dict  # {"data": [...]} or {"errors": [...]}, as last answered
    accepted: bool  # False: refused at submission
    weight: int  # approximate bytes of the request


class TaskDetails:
    def __init__(self, per_namespace: int = PER_NAMESPACE, max_bytes: int = MAX_BYTES) -> None:
        self.per_namespace = per_namespace
        self.max_bytes = max_bytes
        self._records: OrderedDict[tuple[str, str], TaskRecord] = OrderedDict()  # oldest first
        self._by_namespace: dict[str, OrderedDict[str, None]] = {}  # each key's taskUUIDs, oldest first
        self._bytes = 0

    def submitted(self, namespace: str, task: dict, response: dict, *, accepted: bool, weight: int) -> None:
        key = (namespace, task["taskUUID"])
        previous = self._records.get(key)
        if previous is not None:
            if previous.accepted and not accepted:
                return
            self._drop(key)
        self._records[key] = TaskRecord(task, response, accepted, weight)
        self._by_namespace.setdefault(namespace, OrderedDict())[key[1]] = None
        self._bytes += weight
        self._evict(namespace)

    def answered(self, namespace: str, task_uuid: str, response: dict) -> None:
        """A getResponse reply for a recorded task replaces its last reply."""
        record = self._records.get((namespace, task_uuid))
        if record is not None:
            record.response = response

    def get(self, namespace: str, task_uuid: str) -> TaskRecord | None:
        return self._records.get((namespace, task_uuid))

    def reset(self, namespace: str | None = None) -> int:
        """Forget one namespace's records (all when None); returns how many."""
        if namespace is None:
            doomed = list(self._records)
        else:
            doomed = [(namespace, uuid) for uuid in self._by_namespace.get(namespace, ())]
        for key in doomed:
            self._drop(key)
        return len(doomed)

    def _evict(self, namespace: str) -> None:
        """Oldest first: this key's beyond its share, then anyone's beyond the byte budget (the
        newest record always stays)."""
        own = self._by_namespace[namespace]
        if len(own) > self.per_namespace:
            self._drop((namespace, next(iter(own))))
        while self._bytes > self.max_bytes and len(self._records) > 1:
            self._drop(next(iter(self._records)))

    def _drop(self, key: tuple[str, str]) -> None:
        record = self._records.pop(key)
        self._bytes -= record.weight
        own = self._by_namespace[key[0]]
        del own[key[1]]
        if not own:
            del self._by_namespace[key[0]]

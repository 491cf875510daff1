"""The ledger of every asset UUID vidmock minted: uploads (imageUpload, mediaStorage) and
generated videos, with the API key that owns each and what became of it.

The stores answer "is this key's asset there now"; when it is not, the ledger tells why, so a task
naming a UUID that does not resolve gets an error that says so: another key's asset, a deleted
one, an expired one, or a video whose task has not finished. Bounded (the oldest records go
first: their UUIDs are then simply unknown) and namespaced like every store.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from mockserver.contract.vocabulary import MediaKind
from mockserver.core.namespaces import forget

CAPACITY = 200_000  # records kept, oldest forgotten first


@dataclass
class AssetRecord:
    namespace: str
    kind: MediaKind | None  # None: a URL upload whose extension names no listed type
    task_uuid: str | None = None  # the task that generated it (a generated video)
    deleted: bool = False  # by a mediaStorage delete


class AssetLedger:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._records: OrderedDict[str, AssetRecord] = OrderedDict()

    def minted(self, uuid: str, record: AssetRecord) -> None:
        self._records[uuid] = record
        if len(self._records) > self.capacity:
            self._records.popitem(last=False)

    def deleted(self, uuid: str) -> None:
        record = self._records.get(uuid)
        if record is not None:
            record.deleted = True

    def get(self, uuid: str) -> AssetRecord | None:
        return self._records.get(uuid)

    def reset(self, namespace: str | None = None) -> int:
        """Forget one namespace's records (all when None); returns how many."""
        return len(forget(self._records, namespace, lambda _, record: record.namespace))

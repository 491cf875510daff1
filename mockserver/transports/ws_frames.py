"""Put one reply envelope on the WebSocket as frames that every official SDK can receive.

runware-sdk (websockets' default ``max_size``) drops the connection on any incoming message over
1 MiB, so a large reply is split into several envelopes. Items that share a ``taskUUID`` stay in
one frame: the SDKs count a task's results per frame (sdk-python returns duplicates when a
task's results are spread over several replies).
"""

from __future__ import annotations

import json
from typing import Any

from mockserver.contract.protocol import carries_data
from mockserver.contract.vocabulary import Transport

MAX_REPLY_FRAME_BYTES = 1024 * 1024 - 1024  # under 1 MiB with room for the WebSocket header
_ENVELOPE_OVERHEAD = len('{"data": [], "errors": []}')


def encode(value: Any) -> str:
    """JSON as every vidmock reply is written (the separators REST's ``json_response`` uses)."""
    return json.dumps(value)


def reply_frames(envelope: dict[str, list], limit: int = MAX_REPLY_FRAME_BYTES) -> list[str]:
    """The envelope as one or more JSON texts, each under ``limit`` bytes when that is possible
    without separating a task's items (a single task larger than the limit gets a frame alone)."""
    whole = encode(envelope)
    if len(whole.encode()) <= limit:
        return [whole]
    frames, batch, size = [], _Batch(), _ENVELOPE_OVERHEAD
    for group in _groups_by_task(envelope):
        group_size = group.size()
        if batch.groups and size + group_size > limit:
            frames.append(batch.text())
            batch, size = _Batch(), _ENVELOPE_OVERHEAD
        batch.groups.append(group)
        size += group_size
    frames.append(batch.text())
    return frames


class _Group:
    """The encoded data items and error objects of one task."""

    def __init__(self) -> None:
        self.data: list[str] = []
        self.errors: list[str] = []

    def size(self) -> int:
        return sum(len(text.encode()) + 2 for text in self.data + self.errors)  # + ", "


class _Batch:
    def __init__(self) -> None:
        self.groups: list[_Group] = []

    def text(self) -> str:
        data = [item for group in self.groups for item in group.data]
        errors = [item for group in self.groups for item in group.errors]
        parts = []
        if carries_data(bool(data), bool(errors), Transport.WS):
            parts.append('"data": [' + ", ".join(data) + "]")
        if errors:
            parts.append('"errors": [' + ", ".join(errors) + "]")
        return "{" + ", ".join(parts) + "}"


def _groups_by_task(envelope: dict[str, list]) -> list[_Group]:
    """Groups in first-seen order; items without a taskUUID (auth, pong) each form their own."""
    groups: dict[object, _Group] = {}
    for key in ("data", "errors"):
        for item in envelope.get(key, []):
            task_uuid = item.get("taskUUID") if isinstance(item, dict) else None
            group = groups.setdefault(task_uuid if isinstance(task_uuid, str) else object(), _Group())
            getattr(group, key).append(encode(item))
    return list(groups.values())

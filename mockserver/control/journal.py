"""The journal: every request and WebSocket frame the mock received, and what it answered.

A bounded ring buffer (oldest entries fall off; WireMock's unbounded journal is a classic OOM
report) that tests read over ``GET /__mock/journal`` and the conformance checks read in-process
through ``Journal.entries``. An entry keeps what a rule about client behaviour needs: who asked,
when (server clock and wall time), the parsed tasks, *every* validation violation (the wire
carries only the first), the reply sent and the faults injected into it.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.contract.errors import RunwareError
from mockserver.contract.vocabulary import ExchangeDirection, Transport
from mockserver.core.namespaces import forget_in_ring
from mockserver.exchange import RequestContext
from mockserver.traffic.redaction import REDACTED, SECRET_FIELDS, redact_headers
from mockserver.traffic.redaction import redact as redact_secrets

DEFAULT_SIZE = 5000
LONG_STRING = 2048  # longer strings (inline base64 images) are kept abbreviated
MAX_DEPTH = 32


@dataclass
class JournalEntry:
    """One exchange: a REST request or an inbound WebSocket frame, and the reply to it."""

    transport: Transport
    received_at: float  # server clock (what GET /__mock/clock reports; moves with advance)
    received_wall: float  # Unix time
    namespace: str | None = None  # the API key the request used (None: none, or not yet on a socket)
    direction: ExchangeDirection = ExchangeDirection.IN  # OUT: a frame the server pushed unasked
    remote: str | None = None
    method: str | None = None  # "POST" for REST; None for a WebSocket frame
    path: str = "/v1"
    headers: dict[str, str] = field(default_factory=dict)  # secrets redacted
    request_id: str = ""
    raw_body: str | None = None  # only when the body could not be decoded into tasks
    body_bytes: int | None = None  # size of the body or frame, when the transport knows it
    violations: list[dict] = field(default_factory=list)  # every validation error, per task
    response_status: int | None = None  # HTTP status; None when no response was sent (reset, abort)
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: Any = None  # the envelope sent, or the raw text of a malformed/truncated one
    duration_ms: float = 0.0
    faults: list[dict] = field(default_factory=list)  # injected faults, in the order applied
    scenarios: list[str] = field(default_factory=list)  # X-Vidmock-Scenario names in force
    drift: list[dict] = field(default_factory=list)  # what a proxy found in the exchange (mockserver.traffic.drift)
    dry_run: bool = False  # X-Runware-Dry-Run / ?dryRun=1: validated and priced, nothing ran
    id: int = 0  # assigned when journalled; increases with arrival order
    _tasks: list | None = field(default=None, repr=False)

    @property
    def tasks(self) -> list | None:
        """The parsed task array (secrets redacted, long strings abbreviated)."""
        return self._tasks

    @property
    def valid(self) -> bool:
        """The body was a task array and no task broke the schema or the model profile."""
        return self.has_tasks and not self.violations

    @property
    def has_tasks(self) -> bool:
        """The body was decoded into a task array."""
        return self._tasks is not None

    @property
    def retry_after(self) -> str | None:
        return self.response_headers.get("Retry-After")

    @property
    def task_uuids(self) -> set[str]:
        """Every taskUUID the request or the reply names."""
        items = list(self.tasks or [])
        if isinstance(self.response_body, Mapping):
            items += list(self.response_body.get("data") or []) + list(self.response_body.get("errors") or [])
        return {item["taskUUID"] for item in items
                if isinstance(item, Mapping) and isinstance(item.get("taskUUID"), str)}

    def task_types(self) -> list[str]:
        return [task["taskType"] for task in self.tasks or []
                if isinstance(task, Mapping) and isinstance(task.get("taskType"), str)]

    @classmethod
    def of(cls, ctx: RequestContext) -> "JournalEntry":
        """The finished exchange as the journal keeps it (copies, secrets redacted)."""
        entry = cls(transport=ctx.transport, received_at=ctx.received_at, received_wall=ctx.received_wall,
                    namespace=ctx.claimed_key or None, remote=ctx.remote, method=ctx.method, path=ctx.path,
                    headers=redact_headers(ctx.headers.items()) if ctx.transport is Transport.REST else {},
                    request_id=ctx.request_id, body_bytes=ctx.body_bytes,
                    raw_body=scrub(ctx.raw_body) if ctx.raw_body is not None else None,
                    response_status=ctx.response_status, response_headers=ctx.sent_headers,
                    response_body=ctx.sent_body, duration_ms=ctx.elapsed_ms(), faults=ctx.faults,
                    scenarios=list(ctx.scenarios), direction=ctx.direction,
                    drift=[finding.to_json() for finding in ctx.findings], dry_run=ctx.dry_run)
        if ctx.tasks is not None:
            entry.record_tasks(ctx.tasks)
            if ctx.reply is not None and ctx.reply.violations:
                entry.record_violations(ctx.tasks, ctx.reply.violations)
        if ctx.secrets:
            entry.redact(ctx.secrets)
        return entry

    def redact(self, secrets: tuple[str, ...]) -> None:
        """Replace every occurrence of ``secrets`` (a proxied client's real key, wherever it hides:
        a webhook URL, a prompt, an upstream's message) in what the entry shows."""
        if self.has_tasks:
            self._tasks = redact_secrets(self.tasks, secrets)
        self.raw_body = redact_secrets(self.raw_body, secrets)
        self.headers = redact_secrets(self.headers, secrets)
        self.response_headers = redact_secrets(self.response_headers, secrets)
        self.response_body = redact_secrets(self.response_body, secrets)
        self.violations = redact_secrets(self.violations, secrets)
        self.drift = redact_secrets(self.drift, secrets)

    def record_tasks(self, tasks: list) -> None:
        """Keep the request's tasks, secrets redacted and long strings abbreviated."""
        self._tasks = [scrub(task) for task in tasks]

    def record_violations(self, tasks: list, violations: Mapping[int, list[RunwareError]]) -> None:
        for index, errors in sorted(violations.items()):
            task = tasks[index] if 0 <= index < len(tasks) and isinstance(tasks[index], Mapping) else {}
            self.violations.append({"taskIndex": index, "taskType": scrub(task.get("taskType")),
                                    "taskUUID": scrub(task.get("taskUUID")),
                                    "errors": [error.to_wire(task_type=True) for error in errors]})

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "namespace": self.namespace, "transport": self.transport,
            "direction": self.direction, "remote": self.remote, "method": self.method, "path": self.path,
            "requestId": self.request_id, "receivedAt": self.received_at, "receivedWall": self.received_wall,
            "durationMs": round(self.duration_ms, 3), "headers": self.headers, "rawBody": self.raw_body,
            "tasks": self.tasks, "valid": self.valid, "violations": self.violations,
            "response": {"status": self.response_status, "headers": self.response_headers,
                         "body": self.response_body},
            "faults": self.faults, "scenarios": self.scenarios, "drift": self.drift, "dryRun": self.dry_run,
        }


class Journal:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._ids = itertools.count(1)

    @property
    def size(self) -> int:
        return self._entries.maxlen or 0

    def add(self, entry: JournalEntry) -> JournalEntry:
        entry.id = next(self._ids)
        self._entries.append(entry)
        return entry

    def entries(self, *, namespace: str | None = None, task_uuid: str | None = None,
                since: float | None = None, until: float | None = None, transport: str | None = None,
                valid: bool | None = None, limit: int | None = None) -> list[JournalEntry]:
        """Matching entries, oldest first; ``limit`` keeps the newest ones. ``since``/``until`` are
        server-clock times, inclusive."""
        found = [entry for entry in self._entries
                 if (namespace is None or entry.namespace == namespace)
                 and (task_uuid is None or task_uuid in entry.task_uuids)
                 and (since is None or entry.received_at >= since)
                 and (until is None or entry.received_at <= until)
                 and (transport is None or entry.transport == transport)
                 and (valid is None or entry.valid == valid)]
        return found[-limit:] if limit else found

    def reset(self, namespace: str | None = None) -> int:
        """Forget one namespace's entries (all entries when None); returns how many."""
        self._entries, forgotten = forget_in_ring(self._entries, namespace, lambda entry: entry.namespace)
        return forgotten

    def stats(self) -> dict:
        return {"entries": len(self._entries), "size": self.size}


def scrub(value: Any, depth: int = 0) -> Any:
    """A copy fit for the journal: API keys redacted, long strings (base64 images) shortened, and
    nesting cut at ``MAX_DEPTH`` (hostile bodies nest hundreds of levels; the journal need not)."""
    if depth >= MAX_DEPTH and isinstance(value, (Mapping, list)):
        return f"<nested deeper than {MAX_DEPTH} levels>"
    if isinstance(value, Mapping):
        return {key: (REDACTED if key in SECRET_FIELDS and isinstance(item, str) else scrub(item, depth + 1))
                for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item, depth + 1) for item in value]
    if isinstance(value, str) and len(value) > LONG_STRING:
        return f"{value[:64]}...<{len(value)} characters>"
    return value

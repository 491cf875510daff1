"""The request being handled right now, as the control plane tracks it across layers.

The transport layer (REST middleware, WebSocket frame hook) opens an ``Exchange``; the dispatcher
wrapper and the job-submission hook, further down the same asyncio task, find it through a
context variable and add what they know (tasks, violations, faults applied). Nothing below the
dispatcher needs to pass it along.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

from mockserver.control.faults import Fault
from mockserver.control.journal import JournalEntry


@dataclass
class Exchange:
    entry: JournalEntry
    scenario_names: tuple[str, ...] = ()  # the scenarios in force (already checked to exist)
    transport_fault: Fault | None = None  # a reset/malformed/truncated the REST layer must carry out
    extra_headers: dict[str, str] = field(default_factory=dict)  # e.g. Retry-After of an injected 429


CURRENT: ContextVar[Exchange | None] = ContextVar("vidmock_exchange", default=None)


@dataclass(frozen=True)
class SocketInfo:
    """What the WebSocket upgrade request told us, for every frame of that connection."""

    scenario_names: tuple[str, ...]
    remote: str | None
    path: str


# The WebSocket connection being served (set around the whole socket handler).
SOCKET: ContextVar[SocketInfo | None] = ContextVar("vidmock_socket", default=None)

"""What stands behind the transports: the ``Backend`` protocol.

Both transports hand every task array to one backend and put the ``Reply`` it returns on the wire;
the journal and the faults sit around that call (``mockserver.exchange``), so any backend gets them
for free. ``mockserver.backends.mock`` is the mock itself; ``proxy`` forwards to a real upstream
and judges the traffic (``vidmock proxy``); ``replay`` answers from a recording of such traffic
(``vidmock serve --replay``). The composition root picks one (``mockserver.app.create_app``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

if TYPE_CHECKING:
    from mockserver.exchange import RequestContext
    from mockserver.protocol import Reply


class ClientSocket(Protocol):
    """What the WebSocket transport offers a backend for one client connection (``ctx.connection``):
    the way to reach the client when something other than a client frame has news (a proxy's
    upstream pushing a frame, or closing)."""

    async def push(self, reply: Reply, findings: tuple = (), secrets: tuple = ()) -> None:
        """Journal (with these ``ctx.findings`` and ``ctx.secrets``) and send a frame the client did
        not ask for; it never overtakes the answer to the frame being answered."""

    async def drop(self, how: Any) -> None:
        """Close the client's socket with 1011, or abort its connection (``DropKind``)."""

    async def close(self, code: int, message: bytes = b"") -> None:
        """Close the client's socket with this code."""


class Backend(Protocol):
    names_sessions: bool
    """Optional, False when absent: True when the backend's authentication reply names the
    WebSocket session (a proxy: the upstream's ``connectionSessionUUID`` is the client's); the
    transport's session hub then adopts that name instead of minting its own."""

    async def handle(self, tasks: list[Any], ctx: RequestContext) -> Reply:
        """Answer one request's tasks (one REST body, one WebSocket frame). A leading authentication
        task authenticates the request: the backend sets ``ctx.api_key``, and a WebSocket keeps it
        for the connection. Errors are returned in the ``Reply``, never raised."""

    async def socket_closed(self, connection: Any) -> None:
        """A WebSocket the backend has seen frames of (``ctx.connection``) has gone: release
        whatever the backend kept for it."""


BACKEND: web.AppKey[Backend] = web.AppKey("backend", Backend)  # type: ignore[type-abstract]

"""What stands behind the transports: the ``Backend`` protocol.

Both transports hand every task array to one backend and put the ``Reply`` it returns on the wire;
the journal and the faults sit around that call (``mockserver.exchange``), so any backend gets them
for free. ``mockserver.backends.mock`` is the mock itself; a forwarding proxy or a replayer of
recorded traffic stands in the same place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

if TYPE_CHECKING:
    from mockserver.exchange import RequestContext
    from mockserver.protocol import Reply


class Backend(Protocol):
    async def handle(self, tasks: list[Any], ctx: RequestContext) -> Reply:
        """Answer one request's tasks (one REST body, one WebSocket frame). A leading authentication
        task authenticates the request: the backend sets ``ctx.api_key``, and a WebSocket keeps it
        for the connection. Errors are returned in the ``Reply``, never raised."""

    async def socket_closed(self, connection: Any) -> None:
        """A WebSocket the backend has seen frames of (``ctx.connection``) has gone: release
        whatever the backend kept for it."""


BACKEND: web.AppKey[Backend] = web.AppKey("backend", Backend)  # type: ignore[type-abstract]

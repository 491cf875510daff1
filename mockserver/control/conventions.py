"""What every ``/__mock/`` endpoint shares: the namespace a call names, and how it refuses input.

Routes that live outside this package (deliveries, the WebSocket drop hook) use the same two, so a
test sees one convention: the key in ``Authorization: Bearer KEY`` or ``?apiKey=KEY`` (neither: the
admin view of every namespace), and a Runware error envelope for a bad call (the control
middleware renders any ``RunwareError`` a route raises).
"""

from __future__ import annotations

from aiohttp import web

from mockserver.errors import RunwareError
from mockserver.transport_rest import bearer_key


def namespace_of(request: web.Request) -> str | None:
    """The key the call names (header first, then ``?apiKey=``); None: the admin view."""
    return bearer_key(request.headers.get("Authorization")) or request.query.get("apiKey") or None


def bad_control_request(message: str) -> RunwareError:
    return RunwareError("invalidControlRequest", message)

"""The transports' ``web.AppKey``s, declared together: what only a transport may name.

The control plane reaches the sockets through ``state.SOCKETS`` (a protocol), never through these."""

from __future__ import annotations

from aiohttp import web

from mockserver.transports.ws_sessions import WebSocketHub

WS_HUB = web.AppKey("ws_hub", WebSocketHub)

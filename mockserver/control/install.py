"""Plugging the control plane into an application: its key, middleware, health section, routes,
and the components it reaches into (the WebSocket hub, the delivery engine)."""

from __future__ import annotations

from aiohttp import web

from mockserver.control.api import add_control_routes
from mockserver.control.middleware import control_middleware
from mockserver.control.plane import ControlPlane
from mockserver.state import CONTROL, DELIVERY, HEALTH_SOURCES
from mockserver.transport_ws import WS_HUB


def install_control_plane(app: web.Application, plane: ControlPlane) -> None:
    """Call after the transports and the delivery engine are set up."""
    app[CONTROL] = plane
    plane.ws_hub = app.get(WS_HUB)
    plane.delivery = app.get(DELIVERY)
    app.middlewares.append(control_middleware(plane))
    app[HEALTH_SOURCES]["control"] = plane.stats
    add_control_routes(app)

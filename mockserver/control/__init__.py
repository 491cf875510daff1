"""The control plane: journal, faults, scenarios, progression, virtual clock, deliveries and the
dashboard, as an aiohttp sub-application mounted at ``/__mock/`` with its own middleware.

It observes the pipeline through the hooks the transports and the mock backend expose
(``mockserver.exchange.Hooks``) and steers the stores through their own settings; nothing below
the composition root imports it.
"""

from __future__ import annotations

from aiohttp import web

from mockserver.contract.protocol import CONTROL_MOUNT
from mockserver.control.middleware import control_middleware
from mockserver.control.openapi import openapi_document
from mockserver.control.plane import ControlPlane
from mockserver.control.keys import CONTROL, OPENAPI_DOCUMENT
from mockserver.control.routes import add_control_routes
from mockserver.exchange import HOOKS
from mockserver.state import CLOCK, CONFIG, DELIVERY, HEALTH_SOURCES, JOBS, MEDIA, STORES

__all__ = ["CONTROL", "ControlPlane", "install_control_plane"]


def install_control_plane(app: web.Application) -> ControlPlane:
    """Build the plane over the app's components, register its hooks, mount its routes."""
    config = app[CONFIG]
    plane = ControlPlane(app[CLOCK], app[JOBS], app[MEDIA], app[DELIVERY], app[STORES],
                         journal_size=config.journal_size, control_token=config.control_token, seed=config.seed)
    plane.install(app[HOOKS])
    app[HEALTH_SOURCES]["control"] = plane.stats
    app.on_shutdown.append(lambda app: plane.waits.close())  # before open requests are awaited: ends long-polls
    control = web.Application(middlewares=[control_middleware(config.control_token)])
    control[CONTROL] = app[CONTROL] = plane
    control[OPENAPI_DOCUMENT] = openapi_document
    add_control_routes(control)
    app.add_subapp(CONTROL_MOUNT, control)
    return plane

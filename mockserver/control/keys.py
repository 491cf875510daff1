"""The control plane's ``web.AppKey``s, declared together: only the control plane and the
composition root name them (the import rules keep every other room from importing ``control``)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from mockserver.control.plane import ControlPlane

CONTROL = web.AppKey("control", ControlPlane)
OPENAPI_DOCUMENT = web.AppKey("openapi_document", Callable[[], dict])
"""Builds this plane's OpenAPI description from ``routes.ROUTES`` (``control.openapi``, which reads
the routes: handed in at composition, so the two do not import each other)."""

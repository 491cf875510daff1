"""The application's shared state, as typed ``web.AppKey``s: how any route module (REST,
WebSocket, ``/__mock/``) reaches the server's components without importing the app factory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from mockserver.clock import Clock
from mockserver.config import ServerConfig
from mockserver.control.plane import ControlPlane
from mockserver.delivery import DeliveryEngine
from mockserver.dispatcher import Dispatcher
from mockserver.jobs import JobStore
from mockserver.media import MediaStore
from mockserver.synth import Synthesizer
from mockserver.uploads import UploadStore

CONFIG = web.AppKey("config", ServerConfig)
CLOCK = web.AppKey("clock", Clock)
SYNTHESIZER = web.AppKey("synthesizer", Synthesizer)
MEDIA = web.AppKey("media", MediaStore)
JOBS = web.AppKey("jobs", JobStore)
UPLOADS = web.AppKey("uploads", UploadStore)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
DELIVERY = web.AppKey("delivery", DeliveryEngine)
CONTROL = web.AppKey("control", ControlPlane)
HEALTH_SOURCES: web.AppKey[dict[str, Callable[[], dict]]] = web.AppKey("health_sources", dict)
# chores the periodic housekeeping runs in order (a chore may return an awaitable to be awaited)
HOUSEKEEPING: web.AppKey[list[Callable[[], Awaitable[None] | None]]] = web.AppKey("housekeeping", list)

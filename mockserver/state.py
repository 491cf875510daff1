"""The ``web.AppKey``s of the server's components and stores, declared together: how a route module
(REST, WebSocket, media, ``/__mock/``) reaches them without importing the app factory or each
other. One keys module per layer: these (the stores and the settings), ``exchange`` (the hooks
and the backend), ``transports.keys`` (the socket hub) and ``control.keys`` (the control plane);
a layer names only the keys of the layers it may import. The control plane reaches what the
transports own only through the small protocols here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

from mockserver.assets.uploads import UploadStore
from mockserver.config import ServerConfig
from mockserver.contract.vocabulary import DropKind
from mockserver.core.clock import Clock
from mockserver.core.ids import IdSource
from mockserver.delivery.engine import DeliveryEngine
from mockserver.jobs.store import JobStore
from mockserver.media.store import MediaStore
from mockserver.media.synth import Synthesizer


class Resettable(Protocol):
    def reset(self, namespace: str | None = None) -> int:
        """Forget one namespace's state (every namespace when None); returns how many items."""


class SocketDrops(Protocol):
    async def drop(self, namespace: str, how: DropKind) -> int:
        """Drop every WebSocket of a key now; returns how many."""


CONFIG = web.AppKey("config", ServerConfig)
CLOCK = web.AppKey("clock", Clock)
IDS = web.AppKey("ids", IdSource)
SYNTHESIZER = web.AppKey("synthesizer", Synthesizer)
MEDIA = web.AppKey("media", MediaStore)
JOBS = web.AppKey("jobs", JobStore)
UPLOADS = web.AppKey("uploads", UploadStore)
DELIVERY = web.AppKey("delivery", DeliveryEngine)
SOCKETS: web.AppKey[SocketDrops] = web.AppKey("sockets", SocketDrops)  # type: ignore[type-abstract]
# every store with per-key state, by the name POST /__mock/reset reports its count under
STORES: web.AppKey[dict[str, Resettable]] = web.AppKey("stores", dict)
HEALTH_SOURCES: web.AppKey[dict[str, Callable[[], dict]]] = web.AppKey("health_sources", dict)
# chores the periodic housekeeping runs in order (a chore may return an awaitable to be awaited)
HOUSEKEEPING: web.AppKey[list[Callable[[], Awaitable[None] | None]]] = web.AppKey("housekeeping", list)

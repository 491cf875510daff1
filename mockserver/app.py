"""The composition root: builds the pipeline for one config and runs it on a socket.

    transports (REST, WebSocket) -> backend (the mock) -> validation -> jobs -> media -> delivery
                                    (or the proxy, or the replayer: mockserver/backends/)
         hooks around and inside: the control plane observes and steers, mounted at /__mock/

Each part gets the parts it needs here, in that order; the control plane is wired in last, through
the hooks and the stores registry, so nothing below this module knows it exists. Background work
lives in ``cleanup_ctx`` so it stops with the app.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from mockserver.assets.inputs import AssetResolver
from mockserver.assets.ledger import AssetLedger
from mockserver.backends.mock import MockBackend
from mockserver.backends.replay import install_replay
from mockserver.commands.openapi import add_openapi_route
from mockserver.config import ServerConfig
from mockserver.contract.pricing import task_cost
from mockserver.control import install_control_plane
from mockserver.core.clock import AdvanceableClock, Clock, ManualClock, SystemClock
from mockserver.core.ids import IdSource
from mockserver.delivery.engine import DeliveryEngine
from mockserver.exchange import BACKEND, HOOKS, Backend, Hooks
from mockserver.jobs.store import JobStore
from mockserver.media.store import MediaStore, add_media_routes
from mockserver.state import (
    CLOCK, CONFIG, DELIVERY, HEALTH_SOURCES, HOUSEKEEPING, IDS, JOBS, MEDIA, STORES, SYNTHESIZER, UPLOADS,
)
from mockserver.assets.uploads import UploadStore
from mockserver.jobs.task_details import TaskDetails
from mockserver.media.synth import Synthesizer
from mockserver.traffic.verbose_log import install as install_verbose_log
from mockserver.transports.http_errors import add_http_error_middleware
from mockserver.transports.rest import add_rest_routes
from mockserver.transports.ws import add_ws_routes

# aiohttp answers a header line over its limit with a plain-text 400 that echoes the line (an API
# key, for Authorization). 8 KiB is aiohttp's default; presigned URLs and long tokens fit in 64.
HTTP_PARSER_LIMITS = {"max_line_size": 65536, "max_field_size": 65536}
HOUSEKEEPING_INTERVAL = 0.5  # seconds between time-policy checks, media sweeps and idle-socket checks


BackendFactory = Callable[[web.Application, MockBackend], Backend]
"""Builds the backend that stands behind the transports, given the app (its config and stores)
and the mock (what a replayer falls back to): ``vidmock proxy`` passes ``install_proxy``."""


def create_app(config: ServerConfig, *, clock: Clock | None = None,
               backend: BackendFactory | None = None) -> web.Application:
    """A ready-to-run application. ``clock`` replaces real time (tests, virtual clock); ``backend``
    replaces the mock (``config.replay`` alone picks the replayer)."""
    clock = AdvanceableClock(clock or (ManualClock() if config.virtual_clock else SystemClock()))
    owns_data_dir = config.data_dir is None
    data_dir = Path(tempfile.mkdtemp(prefix="vidmock-")) if owns_data_dir else config.data_dir
    ids = IdSource(config.seed)
    hooks = Hooks()

    # -- the stores, bottom up ----------------------------------------------------------------
    # videos worth keeping go to the render cache (shared with other runs); those of drawn seeds, to
    # the data dir, which a temporary one takes with it on exit
    synthesizer = Synthesizer(config.render_cache(data_dir), max_concurrency=config.synth_concurrency,
                              scratch_dir=data_dir / "cache")
    media = MediaStore(data_dir / "media", clock, config.media_cap_bytes)
    jobs = JobStore(synthesizer, media, ids, clock, config.progression, config.ttl, task_cost,
                    default_results=config.results)
    uploads = UploadStore(media, ids, clock)
    ledger, details = AssetLedger(), TaskDetails()
    delivery = DeliveryEngine.from_config(config, media)
    jobs.on_job_finished.append(delivery.on_job_finished)

    app = web.Application()
    app[CONFIG], app[CLOCK], app[IDS], app[HOOKS] = config, clock, ids, hooks
    app[SYNTHESIZER], app[MEDIA], app[JOBS], app[UPLOADS], app[DELIVERY] = synthesizer, media, jobs, uploads, delivery
    app[STORES] = {"jobs": jobs, "uploads": uploads, "media": media, "deliveries": delivery, "assets": ledger,
                   "taskDetails": details}
    app[HEALTH_SOURCES] = {"jobs": jobs.stats, "media": media.stats, "synthesizer": synthesizer.stats}
    app[HOUSEKEEPING] = [jobs.tick, uploads.forget_expired, media.sweep]  # the WebSocket transport adds idle sockets

    # -- the backend and the transports in front of it -------------------------------------------
    assets = AssetResolver(uploads, jobs, ledger)
    mock = MockBackend(jobs, uploads, assets, details, ids, config.api_keys, hooks)
    if backend is None and config.replay is not None:
        backend = install_replay
    app[BACKEND] = backend(app, mock) if backend is not None else mock
    add_http_error_middleware(app)
    add_rest_routes(app)
    add_ws_routes(app)
    add_media_routes(app, media)
    add_openapi_route(app)

    # -- the observers: the control plane, and the --verbose log line ----------------------------
    install_control_plane(app)
    if config.verbose:  # off, nothing is registered: a request pays nothing for the setting
        install_verbose_log(hooks)

    app.cleanup_ctx.append(_housekeeping)
    app.cleanup_ctx.append(_lifetime(data_dir if owns_data_dir else None))
    app.on_startup.append(lambda app: delivery.start())
    app.on_shutdown.append(lambda app: delivery.close())  # before open requests are awaited: ends long-polls
    return app


def _lifetime(temporary_dir: Path | None):
    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        """On shutdown: stop jobs, callbacks and the renders behind them, then remove a temporary data dir."""
        yield
        await app[JOBS].close()
        await app[SYNTHESIZER].close()
        if temporary_dir is not None:
            await asyncio.to_thread(shutil.rmtree, temporary_dir, True)
    return lifetime


async def _housekeeping(app: web.Application) -> AsyncIterator[None]:
    """Periodically run the ``HOUSEKEEPING`` chores: settle ``seconds:T`` jobs, forget expired
    ones, sweep media, close idle sockets."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL)
            for chore in app[HOUSEKEEPING]:
                pending = chore()
                if pending is not None:
                    await pending

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@dataclass
class RunningServer:
    runner: web.AppRunner
    base_url: str

    @property
    def app(self) -> web.Application:
        return self.runner.app

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_server(config: ServerConfig, *, clock: Clock | None = None,
                       backend: BackendFactory | None = None) -> RunningServer:
    """Bind ``config.host:config.port`` (port 0: a free one) and serve until ``stop()``."""
    runner = web.AppRunner(create_app(config, clock=clock, backend=backend), access_log=None, handle_signals=False,
                           **HTTP_PARSER_LIMITS)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    port = runner.addresses[0][1]
    host = f"[{config.host}]" if ":" in config.host else config.host
    return RunningServer(runner, f"http://{host}:{port}")

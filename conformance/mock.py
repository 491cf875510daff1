"""A vidmock server for the harness: ``BackgroundMock`` runs the real server
(``mockserver.app.start_server``) on its own event loop in a daemon thread, so sync tests, async
tests and ``vidmock check`` (which runs the client as a subprocess) can all use it while they
block. Its clients are ``conformance.client``'s.
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import replace
from typing import Any

from mockserver.config import BY_ATTRIBUTE, ServerConfig

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
STARTUP_TIMEOUT = 30.0


def harness_config(base: ServerConfig | None = None, /, **settings: Any) -> ServerConfig:
    """``base`` (default: the harness's defaults) with ``settings`` changed.

    The harness's defaults: a free port, webhooks/uploads only to this machine, quick delivery
    retries (a run waits for them before judging webhook receivers), and the render cache that
    ``VIDMOCK_CACHE_DIR`` names, as for ``vidmock serve`` (else the user's cache folder). A setting
    given as text is read as its flag would read it: ``harness_config(progression="polls:2")``.
    """
    cache_dir = BY_ATTRIBUTE["cache_dir"]
    base = base or ServerConfig(port=0, delivery_allow_hosts=LOCAL_HOSTS, delivery_backoff=0.1,
                                delivery_backoff_max=1.0,
                                cache_dir=cache_dir.parse(os.environ.get(cache_dir.env, cache_dir.default)))
    parsed = {name: BY_ATTRIBUTE[name].parse(value) if isinstance(value, str) and name in BY_ATTRIBUTE else value
              for name, value in settings.items()}
    return replace(base, **parsed)


class BackgroundMock:
    """The mock on a free port, in a thread; ``start()`` returns once it accepts requests."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or harness_config()
        self.base_url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="vidmock", daemon=True)
        self._server = None

    def start(self) -> "BackgroundMock":
        from mockserver.app import start_server

        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(start_server(self.config), self._loop)
        self._server = future.result(STARTUP_TIMEOUT)
        self.base_url = self._server.base_url
        return self

    def stop(self) -> None:
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._server.stop(), self._loop).result(STARTUP_TIMEOUT)
            self._server = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(STARTUP_TIMEOUT)
        self._loop.close()

    def __enter__(self) -> "BackgroundMock":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

"""A vidmock server for the harness, and a small client of its ``/__mock/`` control API.

``BackgroundMock`` runs the real server (``mockserver.app.start_server``) on its own event loop in
a daemon thread, so sync tests, async tests and ``vidmock check`` (which runs the client as a
subprocess) can all use it while they block. ``Namespace`` speaks to the control API over HTTP
with the standard library only, so it works the same against an external server.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from typing import Any

from mockserver.config import ServerConfig

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
STARTUP_TIMEOUT = 30.0


def harness_config(**settings: Any) -> ServerConfig:
    """Defaults for a harness server: a free port, webhooks/uploads only to this machine, and
    quick delivery retries (a run waits for them before judging webhook receivers)."""
    defaults = ServerConfig(port=0, delivery_allow_hosts=LOCAL_HOSTS, delivery_backoff=0.1, delivery_backoff_max=1.0)
    return replace(defaults, **settings)


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


class ControlError(RuntimeError):
    """The control API refused a call; the message carries its Runware error."""


@dataclass
class Namespace:
    """One API key on one server: its URLs, and the control calls scoped to it.

    ``api_key=None`` is the admin view (every namespace), which ``vidmock check`` uses because the
    client under test may send no key at all.
    """

    base_url: str
    api_key: str | None

    @property
    def http_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http") + "/v1"

    # -- reading ------------------------------------------------------------------------------

    def journal(self) -> list[dict]:
        """Every journal entry of the namespace, oldest first (``GET /__mock/journal``)."""
        return self.call("GET", "/__mock/journal")["entries"]

    def deliveries(self) -> list[dict]:
        """Webhook and upload records of the namespace (``GET /__mock/deliveries``)."""
        return self.call("GET", "/__mock/deliveries")["deliveries"]

    def wait_for_deliveries(self, task_uuid: str, *, count: int = 1, kind: str | None = None,
                            timeout: float = 10.0) -> list[dict]:
        """Block until ``count`` deliveries of a task are final; raises ``ControlError`` on time-out."""
        query = {"taskUUID": task_uuid, "count": count, "timeout": timeout, **({"kind": kind} if kind else {})}
        return self.call("GET", "/__mock/deliveries/wait?" + urllib.parse.urlencode(query),
                         timeout=timeout + 5)["deliveries"]

    def settle_deliveries(self, timeout: float = 10.0) -> list[dict]:
        """Wait until no delivery is pending (retries included), then return them all."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.deliveries()
            if all(record["state"] != "pending" for record in records) or time.monotonic() > deadline:
                return records
            time.sleep(0.1)

    # -- steering -------------------------------------------------------------------------------

    def fault(self, action: str, *, times: int | str = 1, per_task: bool = False,
              match: dict | None = None, **params: Any) -> dict:
        """Inject a fault (``POST /__mock/faults``), e.g. ``fault("status", status=429, retryAfter=1)``."""
        spec = {"action": action, "times": times, "perTask": per_task, **params}
        if match:
            spec["match"] = match
        return self.call("POST", "/__mock/faults", spec)

    def scenario(self, name: str) -> list[dict]:
        """Install a named scenario's faults in this namespace, so an unmodified client meets it
        without sending ``X-Vidmock-Scenario``. Policy scenarios (``polls:N``...) are
        ``progression`` calls instead."""
        listing = {item["name"]: item for item in self.call("GET", "/__mock/scenarios")["scenarios"]}
        found = listing.get(name, {})
        if not found.get("faults") and not found.get("results"):
            raise ControlError(f"no fault scenario {name!r}; known: {', '.join(sorted(listing))}")
        if found.get("results"):  # e.g. staggered-results: a release mode, not a fault
            self.results(found["results"])
        return [self.call("POST", "/__mock/faults", spec) for spec in found["faults"]]

    def progression(self, policy: str | None, task_uuid: str | None = None) -> dict:
        """Set how jobs progress (``immediate``, ``polls:N``, ``seconds:T``, ``manual``; None clears),
        for the namespace or for one task (which may not be submitted yet)."""
        path = f"/__mock/tasks/{task_uuid}/progression" if task_uuid else "/__mock/progression"
        return self.call("PUT", path, {"policy": policy})

    def results(self, mode: str | None, task_uuid: str | None = None) -> dict:
        """Set how results are released (``together``, ``staggered``: one more per poll; None
        clears), for the namespace or for one task (which may not be submitted yet)."""
        path = f"/__mock/tasks/{task_uuid}/progression" if task_uuid else "/__mock/progression"
        return self.call("PUT", path, {"results": mode})

    def complete(self, task_uuid: str) -> dict:
        return self.call("POST", f"/__mock/tasks/{task_uuid}/complete")

    def fail(self, task_uuid: str, code: str = "providerError", message: str | None = None) -> dict:
        return self.call("POST", f"/__mock/tasks/{task_uuid}/fail",
                         {"code": code, **({"message": message} if message else {})})

    def reset(self) -> dict:
        """Forget the namespace's tasks, journal, faults and deliveries."""
        return self.call("POST", "/__mock/reset")

    # -- transport --------------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None, *, timeout: float = 30.0) -> Any:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise ControlError(f"{method} {path}: {error.code} {error.read().decode(errors='replace')}") from None

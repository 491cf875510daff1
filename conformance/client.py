"""A client of a running vidmock, for one API key: the mocked API (``POST /v1``) and the control
plane (``/__mock/``), over real HTTP.

One implementation, used everywhere: ``MockClient`` is asynchronous (vidmock's own tests, async
user tests); ``Namespace`` is the same client for code that blocks (the pytest plugin's
``vidmock`` fixture, ``vidmock check``), running each call on a loop thread of its own. Both work
the same against a server in this process or one anywhere on the machine.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiohttp

from mockserver.contract.protocol import CONTROL_MOUNT
from mockserver.contract.vocabulary import DeliveryState, JobStatus, ResultRelease, TaskType

REQUEST_TIMEOUT = 30.0
POLL_INTERVAL = 0.05  # between getResponse polls of a task only polls move
LONG_POLL_MAX = 300.0  # the longest wait the control plane's wait routes accept
T = TypeVar("T")


class ControlError(RuntimeError):
    """vidmock refused a call; the message carries its status and Runware error."""


class MockClient:
    """One API key on one server (``api_key=None``: the admin view of every namespace)."""

    def __init__(self, base_url: str, api_key: str | None, *, token: str | None = None,
                 session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.token = token  # X-Vidmock-Control-Token, for a server started with --control-token
        self.session = session  # None: a session per call (no loop to tie one to)

    def as_key(self, api_key: str | None) -> MockClient:
        return MockClient(self.base_url, api_key, token=self.token, session=self.session)

    @property
    def http_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http") + "/v1"

    # -- HTTP --------------------------------------------------------------------------------------

    async def request(self, method: str, path: str, body: Any = None, *, params: dict | None = None,
                      raw: bytes | None = None, headers: dict | None = None,
                      timeout: float = REQUEST_TIMEOUT) -> tuple[int, Any]:
        """(status, parsed JSON body) of one call. ``path`` without a leading slash is relative to
        ``/__mock/``; the key goes in ``Authorization: Bearer``."""
        status, _, reply = await self._exchange(method, path, body, params=params, raw=raw, headers=headers,
                                                timeout=timeout)
        return status, reply

    async def _exchange(self, method: str, path: str, body: Any = None, *, params: dict | None = None,
                        raw: bytes | None = None, headers: dict | None = None,
                        timeout: float = REQUEST_TIMEOUT) -> tuple[int, str, Any]:
        """(status, Content-Type, parsed JSON body, or the text when it is not JSON)."""
        url = self.base_url + (path if path.startswith("/") else CONTROL_MOUNT + path)
        sent = {"Authorization": f"Bearer {self.api_key}"} if self.api_key is not None else {}
        if self.token is not None:
            sent["X-Vidmock-Control-Token"] = self.token
        sent.update(headers or {})
        if raw is None and body is not None:
            raw, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
        query = {name: str(value) for name, value in (params or {}).items() if value is not None}
        async with _session(self.session) as session, session.request(
                method, url, data=raw, params=query, headers=sent,
                timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            text = await response.text()
            try:
                return response.status, response.content_type, json.loads(text) if text else None
            except ValueError:
                return response.status, response.content_type, text

    async def call(self, method: str, path: str, body: Any = None, *, params: dict | None = None,
                   timeout: float = REQUEST_TIMEOUT) -> Any:
        """The body of a call that must succeed (2xx); ``ControlError`` otherwise."""
        status, reply = await self.request(method, path, body, params=params, timeout=timeout)
        if not 200 <= status < 300:
            raise ControlError(f"{method} {path}: {status} {reply}")
        return reply

    async def get(self, url: str, headers: dict | None = None, method: str = "GET") -> tuple[int, Any, bytes]:
        """(status, headers, bytes) of any URL, e.g. a ``videoURL``."""
        async with _session(self.session) as session, session.request(method, url, headers=headers or {}) as response:
            return response.status, response.headers, await response.read()

    # -- the mocked API -----------------------------------------------------------------------------

    async def post(self, tasks: Any = None, *, raw: bytes | None = None, headers: dict | None = None) -> tuple[int, dict]:
        """(HTTP status, body) of ``POST /v1``, sent as ``application/json`` as Runware requires
        (``headers`` may say otherwise); vidmock always answers a JSON object, whatever the status,
        and anything else fails here."""
        if raw is None:
            raw = json.dumps(tasks).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
        status, content_type, body = await self._exchange("POST", "/v1", raw=raw, headers=headers)
        if content_type != "application/json" or not isinstance(body, dict):
            raise AssertionError(f"POST /v1 answered {content_type} {body!r}, not a JSON object")
        return status, body

    async def one_error(self, tasks: Any) -> tuple[int, dict]:
        """(status, the one error) of a request expected to fail with exactly one error, in the
        envelope the live service refuses with: ``{"data": [], "errors": [error]}``."""
        status, body = await self.post(tasks)
        if set(body) != {"data", "errors"} or body["data"] != [] or len(body["errors"]) != 1:
            raise AssertionError(f"expected exactly one error (and an empty data), got {body}")
        return status, body["errors"][0]

    async def poll(self, task_uuid: str) -> tuple[int, dict]:
        return await self.post([{"taskType": TaskType.GET_RESPONSE, "taskUUID": task_uuid}])

    async def wait_done(self, task_uuid: str, timeout: float = 60) -> tuple[int, dict]:
        """Until the task is no longer processing, as getResponse answers then: no ``processing``
        item left (a staggered reply leads with the results released so far). Between polls it
        long-polls the task (``wait_task``), which answers the moment the job ends; a task that only
        getResponse moves (``polls:N``, a staggered release) is polled instead, as a client would."""
        deadline = asyncio.get_running_loop().time() + timeout
        async with asyncio.timeout_at(deadline):
            while True:
                status, body = await self.poll(task_uuid)
                if all(item.get("status") != JobStatus.PROCESSING for item in body.get("data", [])):
                    return status, body
                known, task = await self.request("GET", f"tasks/{task_uuid}")
                if known != 200 or _moved_by_polls(task):
                    await asyncio.sleep(POLL_INTERVAL)
                else:
                    await self.request("GET", f"tasks/{task_uuid}/wait", params={"timeout": _wait_seconds(deadline)},
                                       timeout=timeout + REQUEST_TIMEOUT)

    async def wait_task(self, task_uuid: str, timeout: float = 10.0) -> dict:
        """The task as the control plane shows it (``GET /__mock/tasks/{taskUUID}/wait``), once it
        is final; ``ControlError`` when this key does not know it or it still runs after ``timeout`` s.
        Not a poll: a ``polls:N`` task or a staggered release ends only as getResponse polls it."""
        return await self.call("GET", f"tasks/{task_uuid}/wait", params={"timeout": timeout},
                               timeout=timeout + REQUEST_TIMEOUT)

    # -- the control plane ---------------------------------------------------------------------------

    async def journal(self, **filters: Any) -> list[dict]:
        """Journal entries of the namespace, oldest first (``GET /__mock/journal``)."""
        return (await self.call("GET", "journal", params=filters))["entries"]

    async def deliveries(self, **filters: Any) -> list[dict]:
        """Webhook and upload records of the namespace (``GET /__mock/deliveries``)."""
        return (await self.call("GET", "deliveries", params=filters))["deliveries"]

    async def wait_for_deliveries(self, task_uuid: str, *, count: int = 1, kind: str | None = None,
                                  timeout: float = 10.0) -> list[dict]:
        """Until ``count`` deliveries of a task are final; ``ControlError`` on time-out."""
        query = {"taskUUID": task_uuid, "count": count, "timeout": timeout, "kind": kind}
        return (await self.call("GET", "deliveries/wait", params=query, timeout=timeout + 5))["deliveries"]

    async def settle_deliveries(self, timeout: float = 10.0) -> list[dict]:
        """Wait until no delivery is pending (retries included), then return them all: each task
        with a pending record is long-polled (``deliveries/wait``) until every record of it is final."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            records = await self.deliveries()
            pending = {record["taskUUID"] for record in records if record["state"] == DeliveryState.PENDING}
            if not pending or asyncio.get_running_loop().time() >= deadline:
                return records
            for task_uuid in sorted(pending):
                count = sum(record["taskUUID"] == task_uuid for record in records)
                await self.request("GET", "deliveries/wait", params={
                    "taskUUID": task_uuid, "count": count, "timeout": _wait_seconds(deadline)}, timeout=timeout + REQUEST_TIMEOUT)

    async def fault(self, action: str, *, per_task: bool | None = None, **spec: Any) -> dict:
        """Install a fault (``POST /__mock/faults``), e.g. ``fault("status", status=429,
        retryAfter=1, match={"taskType": "videoInference"}, perTask=True)``."""
        if per_task is not None:
            spec["perTask"] = per_task
        return await self.call("POST", "faults", {"action": action, **spec})

    async def scenario(self, name: str) -> list[dict]:
        """Install a named scenario's faults (and result release) in this namespace, so an
        unmodified client meets it without sending ``X-Vidmock-Scenario``. Policy scenarios
        (``polls:N``...) are ``progression`` calls instead."""
        listing = {item["name"]: item for item in (await self.call("GET", "scenarios"))["scenarios"]}
        found = listing.get(name, {})
        if not found.get("faults") and not found.get("results"):
            raise ControlError(f"no fault scenario {name!r}; known: {', '.join(sorted(listing))}")
        if found.get("results"):
            await self.results(found["results"])
        return [await self.call("POST", "faults", spec) for spec in found["faults"]]

    async def progression(self, policy: str | None, task_uuid: str | None = None) -> dict:
        """How jobs progress (``immediate``, ``polls:N``, ``seconds:T``, ``manual``; None clears),
        for the namespace or for one task (which may not be submitted yet)."""
        path = f"tasks/{task_uuid}/progression" if task_uuid else "progression"
        return await self.call("PUT", path, {"policy": policy})

    async def results(self, mode: str | None, task_uuid: str | None = None) -> dict:
        """How results are released (``together``, ``staggered``, ``generations``; None clears), for the namespace or
        for one task (which may not be submitted yet)."""
        path = f"tasks/{task_uuid}/progression" if task_uuid else "progression"
        return await self.call("PUT", path, {"results": mode})

    async def complete(self, task_uuid: str) -> dict:
        return await self.call("POST", f"tasks/{task_uuid}/complete")

    async def fail(self, task_uuid: str, code: str = "providerError", message: str | None = None) -> dict:
        return await self.call("POST", f"tasks/{task_uuid}/fail", {"code": code, **({"message": message} if message else {})})

    async def reset(self) -> dict:
        """Forget the namespace's tasks, journal, faults, deliveries... (everything, as admin)."""
        return await self.call("POST", "reset")


def _moved_by_polls(task: dict) -> bool:
    """Whether only getResponse polls end the task (a wait would sit out its time-out): a
    ``polls:N`` policy, or several generations released one per poll."""
    return (task["policy"].startswith("polls:")
            or (task["resultRelease"] != ResultRelease.TOGETHER and len(task.get("generations", ())) > 1))


def _wait_seconds(deadline: float) -> float:
    """The time-out of a long-poll that must answer by ``deadline`` (loop time)."""
    return round(min(LONG_POLL_MAX, max(0.0, deadline - asyncio.get_running_loop().time())), 3)


class Namespace:
    """``MockClient`` for code that blocks: the same methods, each run to completion on the
    client loop thread."""

    def __init__(self, base_url: str, api_key: str | None, *, token: str | None = None) -> None:
        self.client = MockClient(base_url, api_key, token=token)

    def as_key(self, api_key: str | None) -> Namespace:
        return Namespace(self.client.base_url, api_key, token=self.client.token)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        if asyncio.iscoroutinefunction(attribute):
            return lambda *args, **kwargs: run(attribute(*args, **kwargs))
        return attribute


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the client loop thread (started once, a daemon) and wait for it."""
    return asyncio.run_coroutine_threadsafe(coroutine, _client_loop()).result()


_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _client_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="vidmock-client", daemon=True).start()
        return _loop


class _session:
    """The caller's session, or one for this call alone."""

    def __init__(self, session: aiohttp.ClientSession | None) -> None:
        self.given, self.own = session, None

    async def __aenter__(self) -> aiohttp.ClientSession:
        if self.given is not None:
            return self.given
        self.own = aiohttp.ClientSession()
        return self.own

    async def __aexit__(self, *exc_info: Any) -> None:
        if self.own is not None:
            await self.own.close()

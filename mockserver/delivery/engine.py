"""Delivery: webhook POSTs and uploadEndpoint PUTs for finished jobs, with retries and a log.

The engine subscribes to ``JobStore.on_job_finished``. For each finished job it plans every
delivery at once (so the log shows queued ones as ``pending``), then sends them in the background,
one job's deliveries in order: every upload first, then every webhook, so a client that receives a
webhook can count on the uploads being done. The request path never waits for any of it.

Every delivery becomes a ``DeliveryRecord`` (target, byte count, each attempt's start, status,
latency and error) kept in a bounded log; tests wait for records to become final with
``wait_for`` instead of sleeping. Per-namespace (or per-task) behaviours let the control plane make
webhooks late, doubled or out of order.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

from mockserver.config import ServerConfig
from mockserver.contract.errors import RunwareError
from mockserver.contract.vocabulary import DeliveryKind, DeliveryState
from mockserver.core.layered import LayeredSetting
from mockserver.core.namespaces import forget, forget_in_ring
from mockserver.jobs.store import ERROR, Job
from mockserver.media.store import CONTENT_TYPES, MediaStore

WEBHOOK, UPLOAD = DeliveryKind.WEBHOOK, DeliveryKind.UPLOAD
PENDING, DELIVERED, FAILED, REFUSED = (DeliveryState.PENDING, DeliveryState.DELIVERED, DeliveryState.FAILED,
                                       DeliveryState.REFUSED)
BACKOFF_FACTOR = 2
MAX_REDIRECTS = 5  # same-host hops followed within one attempt, when following is enabled


def _user_agent() -> str:
    try:
        return f"vidmock/{version('vidmock')}"
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "vidmock/dev"


USER_AGENT = _user_agent()


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a delivery tries: ``attempts`` in all, waiting ``backoff`` s before the second,
    doubling up to ``backoff_max``; each attempt (redirect hops included) gets ``timeout`` s."""

    attempts: int = 5
    backoff: float = 1.0
    backoff_max: float = 30.0
    timeout: float = 10.0

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (1-based; the first never waits)."""
        if attempt <= 1:
            return 0.0
        return min(self.backoff * BACKOFF_FACTOR ** (attempt - 2), self.backoff_max)


@dataclass(frozen=True)
class WebhookBehaviour:
    """Misbehaviours a receiver must survive: late, doubled or reordered webhooks."""

    delay: float = 0.0  # seconds before the task's first webhook attempt
    duplicate: bool = False  # every webhook is delivered twice (two records)
    reorder: bool = False  # a multi-result task's webhooks go out last result first

    def __post_init__(self) -> None:
        if self.delay < 0:
            raise ValueError("delay must not be negative")


NORMAL = WebhookBehaviour()


@dataclass
class Attempt:
    number: int
    started_at: float  # Unix time
    latency_ms: float
    status: int | None = None  # None: no HTTP answer (refused, reset, timeout)
    error: str | None = None  # None: a 2xx
    location: str | None = None  # a 3xx's Location header
    redirects: list[str] = field(default_factory=list)  # same-host hops followed

    def to_json(self) -> dict:
        body = {"attempt": self.number, "startedAt": self.started_at, "status": self.status,
                "latencyMs": round(self.latency_ms, 3), "error": self.error}
        if self.location is not None:
            body["location"] = self.location
        if self.redirects:
            body["redirects"] = self.redirects
        return body


@dataclass
class DeliveryRecord:
    """One webhook POST or upload PUT and everything that happened to it (never its video bytes)."""

    id: int
    namespace: str
    task_uuid: str
    kind: DeliveryKind
    url: str
    video_uuid: str | None  # None: an error webhook (of a failed task or generation)
    content_type: str
    size: int  # body bytes
    created_at: float  # Unix time
    payload: dict | None = None  # a webhook's JSON body
    source: Path | None = None  # an upload's file (not exposed)
    duplicate_of: int | None = None
    generation: int | None = None  # which of the task's generations (0-based); None: the whole task's error
    state: DeliveryState = PENDING
    reason: str | None = None  # why it failed or was refused
    finished_at: float | None = None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def final(self) -> bool:
        return self.state.final

    @property
    def method(self) -> str:
        return "POST" if self.kind == WEBHOOK else "PUT"

    def matches(self, namespace: str | None, task_uuid: str | None, kind: str | None, state: str | None) -> bool:
        """None matches anything."""
        return ((namespace is None or self.namespace == namespace)
                and (task_uuid is None or self.task_uuid == task_uuid)
                and (kind is None or self.kind == kind) and (state is None or self.state == state))

    def to_json(self) -> dict:
        body = {"id": self.id, "namespace": self.namespace, "taskUUID": self.task_uuid, "kind": self.kind,
                "method": self.method, "url": self.url, "videoUUID": self.video_uuid,
                "contentType": self.content_type, "bytes": self.size, "state": self.state,
                "reason": self.reason, "createdAt": self.created_at, "finishedAt": self.finished_at,
                "duplicateOf": self.duplicate_of, "generation": self.generation,
                "attempts": [a.to_json() for a in self.attempts]}
        if self.payload is not None:
            body["payload"] = self.payload
        return body


class DeliveryWaitTimeout(TimeoutError):
    """``wait_for`` ran out of time (or the server is shutting down); ``records`` is what exists."""

    def __init__(self, message: str, records: list[DeliveryRecord]) -> None:
        super().__init__(message)
        self.records = records


def error_item(job: Job, error: RunwareError) -> dict:
    """A failed task or generation as getResponse reports it in ``errors[]``: with taskUUID and status."""
    item = error.to_wire(task_type=True)
    item.setdefault("taskUUID", job.task_uuid)
    item.setdefault("status", ERROR)
    return item


class DeliveryEngine:
    def __init__(self, media: MediaStore, retry: RetryPolicy = RetryPolicy(), *, concurrency: int = 16,
                 log_size: int = 10_000, allow_hosts: Iterable[str] = (), follow_redirects: bool = False) -> None:
        self.media = media
        self.retry = retry
        self.allow_hosts = frozenset(host.lower() for host in allow_hosts)  # empty: any host
        self.follow_redirects = follow_redirects
        self._concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._log: deque[DeliveryRecord] = deque(maxlen=log_size)
        self._ids = itertools.count(1)
        self.behaviours = LayeredSetting(NORMAL)  # per task, else per namespace: late, doubled, reordered
        self._running: dict[str, set[asyncio.Task]] = {}  # per namespace
        self._changed = asyncio.Condition()
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @classmethod
    def from_config(cls, config: ServerConfig, media: MediaStore) -> "DeliveryEngine":
        retry = RetryPolicy(config.delivery_attempts, config.delivery_backoff, config.delivery_backoff_max,
                            config.delivery_timeout)
        return cls(media, retry, concurrency=config.delivery_concurrency, log_size=config.delivery_log_size,
                   allow_hosts=config.delivery_allow_hosts, follow_redirects=config.delivery_follow_redirects)

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the one client session every delivery shares (needs the running loop)."""
        connector = aiohttp.TCPConnector(limit=self._concurrency, force_close=True)
        self._session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": USER_AGENT})

    async def close(self) -> None:
        """Cancel pending deliveries, release waiters, close the session (server shutdown)."""
        self._closed = True
        tasks = [task for tasks in self._running.values() for task in tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._notify()
        if self._session is not None:
            await self._session.close()

    # -- the JobStore subscription --------------------------------------------------------------

    def on_job_finished(self, job: Job) -> Awaitable[None] | None:
        """Plan the job's deliveries and start sending them; returns at once (a job without a
        webhookURL or uploadEndpoint, the usual case, costs one check)."""
        if self._closed or not (job.webhook_url or job.upload_endpoint):
            return None
        behaviour = self.behaviours.get(job.namespace, job.task_uuid)
        records = self._plan(job, behaviour)
        self._log.extend(records)
        if any(not record.final for record in records):
            task = asyncio.create_task(self._send_in_order(records, behaviour.delay))
            running = self._running.setdefault(job.namespace, set())
            running.add(task)
            task.add_done_callback(running.discard)
        return self._notify()  # waiters may be after records refused at planning

    # -- inspection -----------------------------------------------------------------------------

    def records(self, namespace: str | None = None, task_uuid: str | None = None, kind: str | None = None,
                state: str | None = None) -> list[DeliveryRecord]:
        """Logged records, oldest first; every filter left None matches anything."""
        return [record for record in self._log if record.matches(namespace, task_uuid, kind, state)]

    async def wait_for(self, namespace: str | None, task_uuid: str, kind: str | None = None, count: int = 1,
                       timeout: float = 10.0) -> list[DeliveryRecord]:
        """The task's final records once at least ``count`` are final (delivered, failed, refused).

        Raises ``DeliveryWaitTimeout`` (carrying every matching record) after ``timeout`` s.
        """
        def final() -> list[DeliveryRecord]:
            return [r for r in self.records(namespace, task_uuid, kind) if r.final]

        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: self._closed or len(final()) >= count)
        except TimeoutError:
            pass
        done = final()
        if len(done) >= count:
            return done
        raise DeliveryWaitTimeout(f"{len(done)} of {count} {kind or 'deliveries'} for task {task_uuid} "
                                  f"final after {timeout:g} s", self.records(namespace, task_uuid, kind))

    def reset(self, namespace: str | None = None) -> int:
        """Forget a namespace (all when None): cancel its pending deliveries, drop its records and
        behaviours; returns how many records."""
        for running in forget(self._running, namespace, lambda ns, _: ns):
            for task in running:
                task.cancel()
        self._log, dropped = forget_in_ring(self._log, namespace, lambda record: record.namespace)
        self.behaviours.reset(namespace)
        return dropped

    def stats(self) -> dict:
        states = [record.state for record in self._log]
        return {state: states.count(state) for state in DeliveryState}

    # -- planning -------------------------------------------------------------------------------

    def _plan(self, job: Job, behaviour: WebhookBehaviour) -> list[DeliveryRecord]:
        """Every delivery of a finished job, in sending order: uploads (of the generations that
        succeeded), then one webhook per generation, a failed one's carrying its error; a task that
        failed as a whole gets one error webhook."""
        records: list[DeliveryRecord] = []
        if job.error is not None:
            if job.webhook_url:
                records.append(self._webhook(job, {"errors": [error_item(job, job.error)]}, None, None))
            return records
        generations = list(enumerate(job.results))
        if job.upload_endpoint:
            for index, result in generations:
                if result.error is None:
                    records.append(self._upload(job, result.video_uuid, index))
        if job.webhook_url:
            for index, result in reversed(generations) if behaviour.reorder else generations:
                if result.error is None:
                    first = self._webhook(job, {"data": [job.success_item(result)]}, result.video_uuid, index)
                else:
                    first = self._webhook(job, {"errors": [error_item(job, result.error)]}, None, index)
                records.append(first)
                if behaviour.duplicate:
                    copy = self._webhook(job, first.payload, first.video_uuid, index)
                    copy.duplicate_of = first.id
                    records.append(copy)
        return records

    def _webhook(self, job: Job, payload: dict, video_uuid: str | None, generation: int | None) -> DeliveryRecord:
        record = DeliveryRecord(next(self._ids), job.namespace, job.task_uuid, WEBHOOK, job.webhook_url, video_uuid,
                                "application/json", len(_json_bytes(payload)), time.time(), payload=payload,
                                generation=generation)
        return self._screen(record)

    def _upload(self, job: Job, video_uuid: str, generation: int) -> DeliveryRecord:
        entry = self.media.lookup(f"{video_uuid}.{job.extension}")
        record = DeliveryRecord(next(self._ids), job.namespace, job.task_uuid, UPLOAD, job.upload_endpoint,
                                video_uuid, CONTENT_TYPES[job.extension], entry.size if entry else 0, time.time(),
                                source=entry.path if entry else None, generation=generation)
        if entry is None:
            return _settle(record, FAILED, "the video is no longer in the media store")
        return self._screen(record)

    def _screen(self, record: DeliveryRecord) -> DeliveryRecord:
        """Refuse, without sending anything, a target that is not plain HTTP(S) or not allowed."""
        target = URL(record.url, encoded=True)
        if target.scheme not in ("http", "https") or not target.host:
            return _settle(record, REFUSED, f"not an http(s) URL: {record.url}")
        if self.allow_hosts and target.host.lower() not in self.allow_hosts:
            return _settle(record, REFUSED, f"host {target.host} is not in the delivery allowlist")
        return record

    # -- sending --------------------------------------------------------------------------------

    async def _send_in_order(self, records: list[DeliveryRecord], webhook_delay: float) -> None:
        delayed = False
        for record in records:
            if record.final:
                continue
            if record.kind == WEBHOOK and not delayed:
                delayed = True
                await asyncio.sleep(webhook_delay)
            await self._deliver(record)

    async def _deliver(self, record: DeliveryRecord) -> None:
        """Attempt until a 2xx or the attempts run out; the record ends delivered or failed."""
        for number in range(1, self.retry.attempts + 1):
            await asyncio.sleep(self.retry.delay_before(number))
            attempt = await self._attempt(record, number)
            record.attempts.append(attempt)
            if attempt.error is None:
                _settle(record, DELIVERED, None)
                break
        else:
            _settle(record, FAILED, f"{self.retry.attempts} attempt(s) failed; last: {record.attempts[-1].error}")
        await self._notify()

    async def _attempt(self, record: DeliveryRecord, number: int) -> Attempt:
        async with self._slots:
            attempt = Attempt(number, time.time(), 0.0)
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self.retry.timeout):
                    await self._exchange(record, attempt)
            except TimeoutError:
                attempt.error = f"no answer within {self.retry.timeout:g} s"
            except aiohttp.ClientConnectorError as exc:
                attempt.error = f"cannot connect: {exc.os_error or exc}"
            except (aiohttp.ClientError, OSError) as exc:
                attempt.error = f"{type(exc).__name__}: {exc}"
            attempt.latency_ms = (time.perf_counter() - started) * 1000
            return attempt

    async def _exchange(self, record: DeliveryRecord, attempt: Attempt) -> None:
        """One attempt: send, following same-host redirects only when enabled; sets status/error."""
        url = URL(record.url, encoded=True)  # sent verbatim: re-quoting would break presigned URLs
        for _ in range(MAX_REDIRECTS + 1):
            status, location = await self._send_once(record, url)
            attempt.status, attempt.location = status, location
            if 200 <= status < 300:
                return
            if not 300 <= status < 400:
                attempt.error = f"HTTP {status}"
                return
            if location is None:
                attempt.error = f"HTTP {status} without Location"
                return
            target = url.join(URL(location, encoded=True))
            if not self.follow_redirects or (target.host, target.port) != (url.host, url.port):
                why = "not followed" if not self.follow_redirects else "to another host, not followed"
                attempt.error = f"HTTP {status} redirect {why}"
                return
            attempt.redirects.append(str(target))
            url = target
        attempt.error = f"more than {MAX_REDIRECTS} redirects"

    async def _send_once(self, record: DeliveryRecord, url: URL) -> tuple[int, str | None]:
        assert self._session is not None, "DeliveryEngine.start() was not called"
        headers = {"Content-Type": record.content_type, "Content-Length": str(record.size)}
        if record.kind == WEBHOOK:
            body: Any = _json_bytes(record.payload)
        else:
            body = await asyncio.to_thread(record.source.open, "rb")  # streamed by aiohttp, not loaded
        try:
            async with self._session.request(record.method, url, data=body, headers=headers,
                                             allow_redirects=False) as response:
                return response.status, response.headers.get("Location")
        finally:
            if record.kind == UPLOAD:
                body.close()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


def _settle(record: DeliveryRecord, state: DeliveryState, reason: str | None) -> DeliveryRecord:
    record.state, record.reason, record.finished_at = state, reason, time.time()
    return record


def _json_bytes(payload: dict | None) -> bytes:
    return json.dumps(payload).encode()

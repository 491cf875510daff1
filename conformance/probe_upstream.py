"""The one way ``vidmock probe`` talks to a real API: dry runs only, within a budget and a rate.

Every request ``DryRunner.send`` makes carries ``X-Runware-Dry-Run: 1`` (there is no parameter to
leave it out), holds one task, and is refused before it leaves when the task carries something the
service would act on outside the request (``webhookURL``, ``uploadEndpoint``) or, unless the user
allowed it, a URL the service would fetch. At most ``budget`` requests are sent, at most ``rate`` a
second; a ``429`` is waited out (``Retry-After``, else a back-off) and sent again, which spends
budget too. The clock and the sleeper are injectable, so tests check the pacing without waiting.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from conformance.strategies import OUTBOUND_FIELDS  # the service would call these: never sent
from mockserver.traffic.reach import OFFLINE_VARIABLE, is_loopback_url, offline
from mockserver.contract.protocol import DRY_RUN_HEADER
from mockserver.traffic.redaction import REDACTED, redact_url

URL_PREFIXES = ("http://", "https://")
DEFAULT_TIMEOUT = 30.0  # seconds an upstream may take to answer before it counts as gone
RETRY_BACKOFF = 2.0  # seconds to wait after a 429 without Retry-After, doubled each time
MAX_RETRY_WAIT = 120.0  # a Retry-After longer than this ends the run instead of stalling it
AUTH_CODES = frozenset({"invalidApiKey", "missingApiKey", "unauthorized", "forbidden"})


class ProbeStop(Exception):
    """The run cannot go on (exit 2): the upstream refused the key, stopped answering, or did
    not answer the canary as a dry run. The report written so far is kept."""


class BudgetSpent(Exception):
    """``--requests`` requests have been sent: the phase in progress ends, the run reports."""


class UnsafeTask(ValueError):
    """A task probe must not send (an outbound field, or a URL input without ``--url-inputs``)."""


@dataclass(frozen=True)
class Exchange:
    """One request to the upstream and its answer, as received."""

    task: dict
    status: int
    text: str
    date: str  # when it was received, ISO 8601 (UTC)


def refusal_offline(url: str, environ: dict[str, str]) -> str | None:
    """Why ``url`` may not be reached under ``VIDMOCK_OFFLINE=1`` (None when it may)."""
    if offline(environ) and not is_loopback_url(url):
        return f"{OFFLINE_VARIABLE} is set: probe only talks to 127.0.0.1/localhost, not {redact_url(url)}"
    return None


def unsafe_reason(task: Any, url_inputs: bool) -> str | None:
    """Why a task must not go to a real service, or None: a field the service would call back, or
    (unless ``url_inputs``) a URL it would fetch."""
    def walk(value: Any, path: str) -> str | None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in OUTBOUND_FIELDS:
                    return f"{path}{key} would make the service call out"
                found = walk(item, f"{path}{key}.")
                if found:
                    return found
        elif isinstance(value, list):
            for index, item in enumerate(value):
                found = walk(item, f"{path}{index}.")
                if found:
                    return found
        elif isinstance(value, str) and value.lower().startswith(URL_PREFIXES) and not url_inputs:
            return f"{path.rstrip('.')} is a URL the service would fetch (allow with --url-inputs)"
        return None
    return walk(task, "")


Clock = Callable[[], float]
Sleeper = Callable[[float], Awaitable[None]]


class DryRunner:
    """Sends single-task dry runs to one upstream, paced and counted."""

    def __init__(self, session: aiohttp.ClientSession, url: str, key: str, *, budget: int, rate: float,
                 url_inputs: bool = False, clock: Clock = time.monotonic, sleep: Sleeper = asyncio.sleep,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.session = session
        self.url = url
        self.key = key
        self.budget = budget
        self.interval = 1.0 / rate
        self.url_inputs = url_inputs
        self.clock = clock
        self.sleep = sleep
        self.timeout = timeout
        self.sent = 0
        self._last: float | None = None

    @property
    def left(self) -> int:
        return self.budget - self.sent

    def redact(self, text: str) -> str:
        """``text`` with the key replaced, wherever it appears."""
        return text.replace(self.key, REDACTED) if self.key else text

    async def send(self, task: dict) -> Exchange:
        """The upstream's answer to ``[task]`` as a dry run (a 429 is waited out and retried)."""
        reason = unsafe_reason(task, self.url_inputs)
        if reason:
            raise UnsafeTask(reason)
        backoff = RETRY_BACKOFF
        while True:
            status, text, retry_after = await self._post(task)
            if status != 429:
                return Exchange(task, status, text, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            wait = retry_after if retry_after is not None else backoff
            if wait > MAX_RETRY_WAIT:
                raise ProbeStop(f"the upstream asks to wait {wait:g} s (429, Retry-After); probe gives up")
            backoff *= 2
            await self.sleep(wait)
            self._last = self.clock()  # the wait is the spacing the upstream asked for

    async def _post(self, task: dict) -> tuple[int, str, float | None]:
        if self.sent >= self.budget:
            raise BudgetSpent()
        await self._pace()
        self.sent += 1
        headers = {"Authorization": f"Bearer {self.key}", DRY_RUN_HEADER: "1", "Content-Type": "application/json"}
        try:
            async with self.session.post(self.url, data=json.dumps([task]), headers=headers,
                                         timeout=aiohttp.ClientTimeout(total=self.timeout)) as response:
                text = await response.text(errors="replace")
                return response.status, text, _seconds(response.headers.get("Retry-After"))
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise ProbeStop(f"the upstream {redact_url(self.url)} stopped answering "
                            f"({self.redact(type(exc).__name__ + ': ' + str(exc)) or type(exc).__name__})") from None

    async def _pace(self) -> None:
        """At most one request every ``1 / rate`` seconds."""
        now = self.clock()
        if self._last is not None and now - self._last < self.interval:
            await self.sleep(self.interval - (now - self._last))
            now = self.clock()
        self._last = now


def _seconds(value: str | None) -> float | None:
    """Retry-After as seconds (the delta form; an HTTP date is read as no hint)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None

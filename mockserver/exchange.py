"""One exchange: a REST request or an inbound WebSocket frame, on its way through the pipeline.

    transport  -> hooks.before_backend -> backend.handle -> transport answers -> hooks.exchange_done
    (bytes in)    (may delay, refuse,      (auth, tasks)    (and carries out    (journal, log:
                   or ask for a break)                       a requested break)  the one choke point)

The transport creates a ``RequestContext`` and passes it, explicitly, through every stage; each
stage writes down what it learnt (the tasks, the key an authentication task set, the faults applied,
what went out), so the observer at the end sees the whole exchange without asking anyone.

The hooks are plain lists of callables kept on the application (``HOOKS``). Nothing below the
composition root knows who fills them: the control plane registers its fault injector and journal
there, ``--verbose`` its log line.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from mockserver.errors import RunwareError
from mockserver.protocol import Reply, leading_api_key
from mockserver.vocabulary import ExchangeDirection, FaultAction, Transport

if TYPE_CHECKING:
    from mockserver.backends import Backend


@dataclass(eq=False)
class RequestContext:
    """Who is asking, how, and what became of it."""

    transport: Transport
    base_url: str  # the origin the client used, e.g. http://127.0.0.1:8765: the origin of media URLs
    api_key: str | None = None  # Bearer header, the socket's authentication, or this request's auth task
    headers: Mapping[str, str] = field(default_factory=dict)
    request_id: str = ""
    remote: str | None = None
    method: str | None = None  # "POST" for REST; None for a WebSocket frame
    path: str = "/v1"
    scenarios: tuple[str, ...] = ()  # X-Vidmock-Scenario (or ?scenario= on the socket URL), split
    dry_run: bool = False  # X-Runware-Dry-Run: 1 (or ?dryRun=1 on the socket URL): validate and price only
    connection: Any = None  # the WebSocket connection a frame came on (per-socket state of a backend)
    received_at: float = 0.0  # server clock
    received_wall: float = field(default_factory=time.time)
    started: float = field(default_factory=time.perf_counter)
    body_bytes: int | None = None
    # -- learnt on the way --------------------------------------------------------------------
    tasks: list | None = None  # the decoded task array (None: the body was not one)
    raw_body: str | None = None  # an undecodable WebSocket frame, as the journal shows it
    reply: Reply | None = None
    faults: list[dict] = field(default_factory=list)  # injected faults, in the order applied
    findings: tuple = ()  # drift a proxying backend found in the request or its reply (mockserver.drift)
    secrets: tuple[str, ...] = ()  # strings never to be written down (a proxied client's real key)
    direction: ExchangeDirection = ExchangeDirection.IN  # OUT: a frame pushed unasked, in sent_body
    # -- asked of the transport ---------------------------------------------------------------
    response_headers: dict[str, str] = field(default_factory=dict)  # e.g. Retry-After of a 429
    break_reply: FaultAction | None = None  # reset | malformed | truncated (REST), close1011 | abort (WS)
    # -- what went out --------------------------------------------------------------------------
    response_status: int | None = None  # None: no HTTP response (a WebSocket frame, a reset connection)
    sent_headers: dict[str, str] = field(default_factory=dict)
    sent_body: Any = None  # the envelope sent, or the text of a broken one

    @property
    def namespace(self) -> str:
        """The key all the request's state lives under (read only once authenticated)."""
        assert self.api_key, "namespace read before authentication"
        return self.api_key

    @property
    def claimed_key(self) -> str | None:
        """The key the request names, valid or not: what faults match and the journal files under."""
        return self.api_key or leading_api_key(self.tasks)

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


BeforeBackend = Callable[[RequestContext], Awaitable[Reply | None]]
"""Runs before the backend; a ``Reply`` answers the request instead of the backend."""
SocketOpening = Callable[[RequestContext], RunwareError | None]
"""A WebSocket upgrade is about to be accepted; an error refuses it."""
TaskAccepted = Callable[[RequestContext, dict], None]
"""A valid task is about to start (a job, an upload): per-task settings may be chosen now."""
ExchangeDone = Callable[[RequestContext], None]
"""The exchange is over; ``ctx`` holds the request, the reply and what went out."""


@dataclass
class Hooks:
    """The observers of one application, filled in at composition."""

    socket_opening: list[SocketOpening] = field(default_factory=list)
    before_backend: list[BeforeBackend] = field(default_factory=list)
    task_accepted: list[TaskAccepted] = field(default_factory=list)
    exchange_done: list[ExchangeDone] = field(default_factory=list)


HOOKS = web.AppKey("hooks", Hooks)


async def serve(backend: Backend, hooks: Hooks, tasks: list, ctx: RequestContext) -> Reply:
    """The tasks of one request through the ``before_backend`` hooks and the backend."""
    ctx.tasks = tasks
    for before in hooks.before_backend:
        answer = await before(ctx)
        if answer is not None:
            return answer
    return await backend.handle(tasks, ctx)


def finish(hooks: Hooks, ctx: RequestContext, reply: Reply) -> None:
    """Hand the finished exchange to its observers."""
    ctx.reply = reply
    for done in hooks.exchange_done:
        done(ctx)

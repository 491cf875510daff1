"""One exchange: a REST request, a WebSocket frame or any other answered HTTP request, on its way
through the pipeline, and the ``Backend`` that answers it.

    transport  -> hooks.before_backend -> backend.handle -> transport answers -> record()
    (bytes in)    (may delay, refuse,      (the API's        (and carries out    (hooks.exchange_done:
                   or ask for a break)      policy: auth,     a requested break)  journal, log; the one
                                            pings, sessions)                       choke point)

The transport creates a ``RequestContext`` (``request_context``, ``frame_context``: the only two
places one is built) and passes it, explicitly, through every stage; each stage writes down what
it learnt (the tasks, the key an authentication task set, the faults applied, what went out), so
the observer at the end sees the whole exchange without asking anyone. Every path ends in
``record``, once, after the answer went out: a ``POST /v1`` whatever became of it, each WebSocket
frame in or out, a refused upgrade, a 404 or 405 of the API.

The hooks are plain lists of callables kept on the application (``HOOKS``). Nothing below the
composition root knows who fills them: the control plane registers its fault injector and journal
there, ``--verbose`` its log line.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from mockserver.contract.errors import RunwareError
from mockserver.contract.protocol import DRY_RUN_HEADER, DRY_RUN_QUERY, Reply, bearer_key, is_dry_run, leading_api_key
from mockserver.contract.vocabulary import ExchangeDirection, FaultAction, Transport
from mockserver.state import CLOCK

log = logging.getLogger(__name__)
_request_ids = itertools.count(1)


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
    findings: tuple = ()  # drift a proxying backend found in the request or its reply (mockserver.traffic.drift)
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


def request_context(request: web.Request, transport: Transport, scenarios: tuple[str, ...] = ()) -> RequestContext:
    """What an HTTP request tells about itself: a REST request, a WebSocket upgrade (its frames'
    contexts start from it, ``frame_context``), or a request no route serves. A dry run is asked for
    by a header over REST, by the socket URL's query over WebSocket; on a socket only an
    authentication task authenticates, so an upgrade carries no key."""
    rest = transport is Transport.REST
    return RequestContext(
        transport=transport,
        base_url=f"{request.scheme}://{request.host}",
        api_key=bearer_key(request.headers.get("Authorization")) if rest else None,
        headers=request.headers,
        request_id=f"req-{next(_request_ids)}",
        remote=request.remote,
        method=request.method,
        path=request.path_qs,
        scenarios=scenarios,
        dry_run=is_dry_run(request.headers.get(DRY_RUN_HEADER) if rest else request.query.get(DRY_RUN_QUERY)),
        received_at=request.config_dict[CLOCK].now(),
        body_bytes=request.content_length,
    )


def frame_context(upgrade: RequestContext, number: int | str, now: float, *, api_key: str | None, connection: Any,
                  body_bytes: int | None = None,
                  direction: ExchangeDirection = ExchangeDirection.IN) -> RequestContext:
    """A WebSocket frame's own context (``number``: ``3`` for the fourth frame in, ``out2`` for the
    second pushed): what its upgrade said, the key its socket authenticated with."""
    return RequestContext(
        transport=upgrade.transport, base_url=upgrade.base_url, api_key=api_key, headers=upgrade.headers,
        request_id=f"{upgrade.request_id}.{number}", remote=upgrade.remote, path=upgrade.path,
        scenarios=upgrade.scenarios, dry_run=upgrade.dry_run, connection=connection, received_at=now,
        body_bytes=body_bytes, direction=direction)


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


class ClientSocket(Protocol):
    """What the WebSocket transport offers a backend for one client connection (``ctx.connection``):
    the session the API's authentication grants, and the way to reach the client when something
    other than a client frame has news (a proxy's upstream pushing a frame, or closing)."""

    @property
    def namespace(self) -> str | None:
        """The namespace the socket authenticated as (None: not yet)."""

    def authenticated(self, namespace: str, requested: object, name: str | None = None) -> str:
        """The socket authenticated as ``namespace``: attach it to the session ``requested`` names
        when that one is this namespace's and alive, else to a new one (named ``name``, or a fresh
        UUID); returns the session's UUID, the reply's ``connectionSessionUUID``."""

    async def push(self, reply: Reply, findings: tuple = (), secrets: tuple = ()) -> None:
        """Journal (with these ``ctx.findings`` and ``ctx.secrets``) and send a frame the client did
        not ask for; it never overtakes the answer to the frame being answered."""

    async def drop(self, how: Any) -> None:
        """Close the client's socket with 1011, or abort its connection (``DropKind``)."""

    async def close(self, code: int, message: bytes = b"") -> None:
        """Close the client's socket with this code."""


class Backend(Protocol):
    """What stands behind both transports: ``mockserver.backends.mock`` (the mock), ``proxy``
    (forwards to a real upstream and judges the traffic), ``replay`` (answers from a recording).
    The backend owns the API's policy on both transports: who is authenticated, what an
    unauthenticated socket may do (``backends.policy``), which session a socket joins."""

    async def handle(self, tasks: list[Any], ctx: RequestContext) -> Reply:
        """Answer one request's tasks (one REST body, one WebSocket frame). A leading authentication
        task authenticates the request: the backend sets ``ctx.api_key``, and on a WebSocket tells
        ``ctx.connection`` (``ClientSocket.authenticated``). Errors are returned in the ``Reply``,
        never raised."""

    async def socket_closed(self, connection: Any) -> None:
        """A WebSocket the backend has seen frames of (``ctx.connection``) has gone: release
        whatever the backend kept for it."""


# This layer's AppKeys, declared together (mockserver.state has the stores', control.keys the plane's).
HOOKS = web.AppKey("hooks", Hooks)
BACKEND: web.AppKey[Backend] = web.AppKey("backend", Backend)  # type: ignore[type-abstract]


async def serve(backend: Backend, hooks: Hooks, tasks: list, ctx: RequestContext) -> Reply:
    """The tasks of one request through the ``before_backend`` hooks and the backend."""
    ctx.tasks = tasks
    for before in hooks.before_backend:
        answer = await before(ctx)
        if answer is not None:
            return answer
    return await backend.handle(tasks, ctx)


def record(hooks: Hooks, ctx: RequestContext, reply: Reply) -> None:
    """The one choke point: hand the finished exchange to its observers (the journal, the log),
    after its answer went out. An observer's failure is logged, never raised: the answer is out, and
    aiohttp must not answer the error on the same connection."""
    ctx.reply = reply
    for done in hooks.exchange_done:
        try:
            done(ctx)
        except Exception:
            log.exception("observing exchange %s failed", ctx.request_id)

"""WebSocket transport: ``GET /v1`` upgrades (any query string ignored but ``scenario`` and
``dryRun``); each text frame in is a task array, each frame out an envelope, and every task goes to
the same backend as over REST. ``?dryRun=1`` makes every frame of the connection a dry run.

What only a socket has lives here: the bytes. Session resume (``ws_sessions``), an idle timeout,
malformed frames answered with ``invalidRequestBody`` while the socket stays open, reply frames
kept under 1 MiB, and drops (close 1011 or a TCP abort) when a fault asks for one. The API's policy
on a socket (authentication, pings before it, which session a socket joins) is the backend's
(``mockserver.exchange.Backend``); the socket only carries the key it was granted.
"""

from __future__ import annotations

import logging
import time
from functools import partial

from aiohttp import WSMessage, WSMsgType, web

from mockserver.contract.errors import RunwareError
from mockserver.contract.protocol import (AUTH, SCENARIO_HEADER, SCENARIO_QUERY, Reply, decode_tasks, request_too_large,
                                          split_names)
from mockserver.contract.vocabulary import DropKind, ExchangeDirection, Transport
from mockserver.exchange import BACKEND, HOOKS, RequestContext, frame_context, record, request_context, serve
from mockserver.state import CLOCK, CONFIG, HEALTH_SOURCES, HOUSEKEEPING, IDS, SOCKETS, STORES
from mockserver.transports.http_answer import answer
from mockserver.transports.keys import WS_HUB
from mockserver.transports.ws_frames import reply_frames
from mockserver.transports.ws_sessions import Connection, WebSocketHub

log = logging.getLogger(__name__)

OVERSIZE_FACTOR = 8  # frames up to this multiple of the limit get requestTooLarge; larger ones close 1009


async def handle_socket(request: web.Request) -> web.StreamResponse:
    """Serve one socket until the client leaves, it idles out, or a drop is injected."""
    app = request.app
    hooks, hub, limit = app[HOOKS], app[WS_HUB], app[CONFIG].max_body_bytes
    scenarios = split_names(request.headers.get(SCENARIO_HEADER), request.query.get(SCENARIO_QUERY))
    upgrade = request_context(request, Transport.WS, scenarios)

    # -- the upgrade, unless an observer refuses it (an unknown scenario): an HTTP answer, journalled
    for opening in hooks.socket_opening:
        error = opening(upgrade)
        if error is not None:
            return await answer(request, upgrade, Reply.of([], [error]))
    if not web.WebSocketResponse().can_prepare(request).ok:
        raise web.HTTPMethodNotAllowed("GET", ["POST"])
    ws = web.WebSocketResponse(max_msg_size=limit * OVERSIZE_FACTOR, decode_text=False)
    await ws.prepare(request)
    connection = Connection(ws, request, hub)
    connection.pusher = partial(_push, app, upgrade, connection)
    hub.register(connection)
    try:
        while True:
            message = await ws.receive()  # the hub closes sockets that stay idle
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break
            connection.last_frame_at = time.monotonic()
            number, connection.frames = connection.frames, connection.frames + 1
            ctx = frame_context(upgrade, number, app[CLOCK].now(), api_key=connection.namespace,
                                connection=connection, body_bytes=_size(message))
            connection.answering = True  # frames a backend pushes meanwhile follow this answer

            # -- the frame: tasks, an error about the frame, or a drop on request --------------
            reply = await _reply_to(message, ctx, app, limit)
            if ctx.break_reply is not None and ctx.api_key:
                await hub.drop(ctx.api_key, DropKind(ctx.break_reply))  # the reply waits for a resume
            await _answer(app, ctx, reply)
            connection.answering = False
            await connection.release_pushes()
    except Exception:  # a bug must cost this socket at most, never the server
        log.exception("WebSocket handler failed")
        if not ws.closed:
            await ws.close(code=1011, message=b"internal error")
    finally:
        hub.unregister(connection)
        await app[BACKEND].socket_closed(connection)
    return ws


def _size(message: WSMessage) -> int | None:
    return len(message.data) if isinstance(message.data, (bytes, str)) else None


async def _reply_to(message: WSMessage, ctx: RequestContext, app: web.Application, limit: int) -> Reply:
    if message.type is not WSMsgType.TEXT:
        ctx.raw_body = f"<{message.type.name.lower()} frame of {len(message.data or b'')} bytes>"
        return Reply.of([], [RunwareError(
            "invalidRequestBody", "Binary frames are not accepted: send each task array as a UTF-8 text frame.")])
    if len(message.data) > limit:
        ctx.raw_body = message.data.decode("utf-8", "replace")
        return Reply.of([], [request_too_large(limit)])
    try:
        tasks = decode_tasks(message.data)
    except RunwareError as error:
        ctx.raw_body = message.data.decode("utf-8", "replace")
        return Reply.of([], [error])
    return await serve(app[BACKEND], app[HOOKS], tasks, ctx)


async def _answer(app: web.Application, ctx: RequestContext, reply: Reply) -> None:
    """Send the reply (to the session's socket, or kept for its resume), then record the exchange:
    the order every answer of the API follows (``exchange.record``)."""
    connection, envelope = ctx.connection, reply.envelope(Transport.WS)
    if envelope is not None:  # None: a relayed reply that never came (the upstream socket closed)
        await app[WS_HUB].deliver(connection, reply_frames(envelope))
    if reply.data and reply.data[0].get("taskType") == AUTH:
        await app[WS_HUB].flush(connection)  # a resumed session's undelivered frames follow its auth reply
    ctx.sent_body = envelope
    record(app[HOOKS], ctx, reply)


async def _push(app: web.Application, upgrade: RequestContext, connection: Connection, reply: Reply,
                findings: tuple, secrets: tuple) -> None:
    """A frame nobody asked for (``Connection.push``): delivered like any reply (to the session's
    socket, or kept for its resume), and journalled as an outbound exchange."""
    connection.pushed += 1
    ctx = frame_context(upgrade, f"out{connection.pushed}", app[CLOCK].now(), api_key=connection.namespace,
                        connection=connection, direction=ExchangeDirection.OUT)
    ctx.findings, ctx.secrets = findings, secrets
    await _answer(app, ctx, reply)


def add_ws_routes(app: web.Application) -> None:
    """``GET /v1`` upgrades to a WebSocket (``POST /v1`` stays REST)."""
    config = app[CONFIG]
    hub = app[WS_HUB] = WebSocketHub(app[CLOCK], app[IDS].uuid4, idle_timeout=config.ws_idle_timeout,
                                     resume_window=config.ws_resume_window)
    app[SOCKETS] = hub
    app[STORES]["wsSessions"] = hub
    app[HEALTH_SOURCES]["websocket"] = hub.stats
    app[HOUSEKEEPING].append(hub.close_idle_sockets)
    app.on_shutdown.append(lambda _app: hub.close_all())
    app.router.add_get("/v1", handle_socket)

"""WebSocket transport: ``GET /v1`` upgrades (any query string ignored but ``scenario`` and
``dryRun``); each text frame in is a task array, each frame out an envelope, and every task goes to
the same backend as over REST. ``?dryRun=1`` makes every frame of the connection a dry run.

What only a socket has lives here: authentication that lasts for the connection (with session
resume, see ``ws_sessions``), pings answered even before authentication, an idle timeout, malformed
frames answered with ``invalidRequestBody`` while the socket stays open, reply frames kept under
1 MiB, and drops (close 1011 or a TCP abort) when a fault asks for one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from functools import partial

from aiohttp import WSMessage, WSMsgType, web

from mockserver.backends import BACKEND
from mockserver.errors import RunwareError
from mockserver.exchange import HOOKS, RequestContext, finish, serve
from mockserver.protocol import (
    AUTH, SCENARIO_HEADER, SCENARIO_QUERY, Reply, decode_tasks, is_authentication, refusal, request_too_large,
    split_names,
)
from mockserver.state import CLOCK, CONFIG, HEALTH_SOURCES, HOUSEKEEPING, IDS, SOCKETS, STORES
from mockserver.transports.rest import request_context
from mockserver.transports.ws_frames import reply_frames
from mockserver.transports.ws_sessions import Connection, WebSocketHub
from mockserver.vocabulary import DropKind, ExchangeDirection, Transport

log = logging.getLogger(__name__)

WS_HUB = web.AppKey("ws_hub", WebSocketHub)
OVERSIZE_FACTOR = 8  # frames up to this multiple of the limit get requestTooLarge; larger ones close 1009
MISSING_KEY_MESSAGE = "Missing API key. Send an authentication task first on this connection."


async def handle_socket(request: web.Request) -> web.StreamResponse:
    """Serve one socket until the client leaves, it idles out, or a drop is injected."""
    app = request.app
    hooks, hub, limit = app[HOOKS], app[WS_HUB], app[CONFIG].max_body_bytes
    scenarios = split_names(request.headers.get(SCENARIO_HEADER), request.query.get(SCENARIO_QUERY))
    upgrade = request_context(request, Transport.WS, scenarios)
    upgrade.api_key = None  # on a socket only an authentication task authenticates

    # -- the upgrade, unless an observer refuses it (an unknown scenario) ----------------------
    for opening in hooks.socket_opening:
        error = opening(upgrade)
        if error is not None:
            return web.json_response(refusal(error), status=error.http_status)
    if not web.WebSocketResponse().can_prepare(request).ok:
        raise web.HTTPMethodNotAllowed("GET", ["POST"])
    ws = web.WebSocketResponse(max_msg_size=limit * OVERSIZE_FACTOR, decode_text=False)
    await ws.prepare(request)
    connection = Connection(ws, request)
    connection.pusher = partial(_push, app, upgrade, connection)
    hub.register(connection)
    try:
        while True:
            message = await ws.receive()  # the hub closes sockets that stay idle
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break
            connection.last_frame_at = time.monotonic()
            ctx = _frame_context(upgrade, connection, message, app[CLOCK].now())
            connection.answering = True  # frames a backend pushes meanwhile follow this answer

            # -- the frame: tasks, an error about the frame, or a drop on request --------------
            reply = await _reply_to(message, connection, ctx, app, limit)
            if ctx.break_reply is not None and ctx.api_key:
                await hub.drop(ctx.api_key, DropKind(ctx.break_reply))  # the reply waits for a resume
            ctx.sent_body = reply.envelope(Transport.WS)
            finish(hooks, ctx, reply)
            await _send(reply, connection, hub)
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


def _frame_context(upgrade: RequestContext, connection: Connection, message: WSMessage, now: float) -> RequestContext:
    """A frame's own context: what the upgrade said, the key the connection authenticated with."""
    number, connection.frames = connection.frames, connection.frames + 1
    return RequestContext(
        transport=upgrade.transport, base_url=upgrade.base_url, api_key=connection.api_key, headers=upgrade.headers,
        request_id=f"{upgrade.request_id}.{number}", remote=upgrade.remote, path=upgrade.path,
        scenarios=upgrade.scenarios, dry_run=upgrade.dry_run, connection=connection, received_at=now,
        body_bytes=len(message.data) if isinstance(message.data, (bytes, str)) else None)


async def _reply_to(message: WSMessage, connection: Connection, ctx: RequestContext,
                    app: web.Application, limit: int) -> Reply:
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
    if is_authentication(tasks[0]):
        return await _authenticate(tasks, connection, ctx, app)
    if connection.api_key is None:
        ctx.tasks = tasks
        return _unauthenticated_reply(tasks)
    return await serve(app[BACKEND], app[HOOKS], tasks, ctx)


async def _authenticate(tasks: list, connection: Connection, ctx: RequestContext, app: web.Application) -> Reply:
    """The backend checks the key; the hub decides the session (resumed or new)."""
    requested_session = tasks[0].get("connectionSessionUUID")
    backend = app[BACKEND]
    reply = await serve(backend, app[HOOKS], tasks, ctx)
    if reply.data and reply.data[0].get("taskType") == AUTH:
        connection.api_key = ctx.api_key
        if getattr(backend, "names_sessions", False):  # a proxy: the client keeps the upstream's session
            granted = reply.data[0].get("connectionSessionUUID")
            app[WS_HUB].authenticate(connection, ctx.namespace, granted, name=granted if isinstance(granted, str) else None)
        else:
            session = app[WS_HUB].authenticate(connection, ctx.namespace, requested_session)
            reply.data[0]["connectionSessionUUID"] = session.uuid
    return reply


def _unauthenticated_reply(tasks: list) -> Reply:
    """Pings are answered before authentication (sdk-python pings right after its auth frame);
    every other task gets ``missingApiKey``, scoped to it so the SDKs can route it."""
    data, errors = [], []
    for task in tasks:
        if isinstance(task, dict) and task.get("taskType") == "ping":
            data.append({"taskType": "ping", "pong": True})
        else:
            errors.append(RunwareError("missingApiKey", MISSING_KEY_MESSAGE, parameter="apiKey").for_task(task))
    return Reply.of(data, errors)


async def _send(reply: Reply, connection: Connection, hub: WebSocketHub) -> None:
    envelope = reply.envelope(Transport.WS)
    if envelope is not None:  # None: a relayed reply that never came (the upstream socket closed)
        await hub.deliver(connection, reply_frames(envelope))
    if reply.data and reply.data[0].get("taskType") == AUTH:
        await hub.flush(connection)


async def _push(app: web.Application, upgrade: RequestContext, connection: Connection, reply: Reply,
                findings: tuple, secrets: tuple) -> None:
    """A frame nobody asked for (``Connection.push``): journalled as an outbound exchange, then
    delivered like any reply (to the session's socket, or kept for its resume)."""
    connection.pushed += 1
    ctx = replace(upgrade, api_key=connection.api_key, request_id=f"{upgrade.request_id}.out{connection.pushed}",
                  received_at=app[CLOCK].now(), received_wall=time.time(), started=time.perf_counter(),
                  connection=connection, faults=[], response_headers={}, body_bytes=None,
                  direction=ExchangeDirection.OUT, findings=findings, secrets=secrets)
    ctx.sent_body = reply.envelope(Transport.WS)
    finish(app[HOOKS], ctx, reply)
    await _send(reply, connection, app[WS_HUB])


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

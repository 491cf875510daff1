"""WebSocket transport: ``GET /v1`` upgrades (any query string ignored); each text frame in is a
task array, each frame out an envelope, and every task goes through the same dispatcher as REST.

What only a socket has lives here: authentication that lasts for the connection (with session
resume, see ``ws_hub``), pings answered even before authentication, an idle timeout, malformed
frames answered with ``invalidRequestBody`` while the socket stays open, reply frames kept under
1 MiB, and ``POST /__mock/ws/drop``, the test hook that drops a key's sockets.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import WSMessage, WSMsgType, web

from mockserver.control.conventions import bad_control_request
from mockserver.control.middleware import journal_frame
from mockserver.dispatcher import AUTH, RequestContext
from mockserver.errors import RunwareError
from mockserver.protocol import Reply, decode_tasks, request_too_large
from mockserver.state import CLOCK, CONFIG, DISPATCHER, HEALTH_SOURCES, HOUSEKEEPING
from mockserver.transport_rest import request_context
from mockserver.ws_frames import reply_frames
from mockserver.ws_hub import DROP_HOW, Connection, WebSocketHub

log = logging.getLogger(__name__)

WS_HUB = web.AppKey("ws_hub", WebSocketHub)
OVERSIZE_FACTOR = 8  # frames up to this multiple of the limit get requestTooLarge; larger ones close 1009
MISSING_KEY_MESSAGE = "Missing API key. Send an authentication task first on this connection."


async def handle_socket(request: web.Request) -> web.StreamResponse:
    """Serve one socket until the client leaves, it idles out, or a drop is injected."""
    if not web.WebSocketResponse().can_prepare(request).ok:
        raise web.HTTPMethodNotAllowed("GET", ["POST"])
    hub, limit = request.app[WS_HUB], request.app[CONFIG].max_body_bytes
    ws = web.WebSocketResponse(max_msg_size=limit * OVERSIZE_FACTOR, decode_text=False)
    await ws.prepare(request)
    connection = Connection(ws, request)
    hub.register(connection)
    ctx = request_context(request, "ws")
    ctx.api_key = None  # on a socket only an authentication task authenticates
    try:
        while True:
            message = await ws.receive()  # the hub closes sockets that stay idle
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break
            connection.last_frame_at = time.monotonic()
            reply = await journal_frame(request.app, ctx, message, _reply_to(message, connection, ctx, request.app, limit))
            await _send(reply, connection, request.app)
    except Exception:  # a bug must cost this socket at most, never the server
        log.exception("WebSocket handler failed")
        if not ws.closed:
            await ws.close(code=1011, message=b"internal error")
    finally:
        hub.unregister(connection)
    return ws


async def _reply_to(message: WSMessage, connection: Connection, ctx: RequestContext,
                    app: web.Application, limit: int) -> Reply:
    if message.type is not WSMsgType.TEXT:
        return Reply.of([], [RunwareError(
            "invalidRequestBody", "Binary frames are not accepted: send each task array as a UTF-8 text frame.")])
    if len(message.data) > limit:
        return Reply.of([], [request_too_large(limit)])
    try:
        tasks = decode_tasks(message.data)
    except RunwareError as error:
        return Reply.of([], [error])
    if _is_authentication(tasks[0]):
        return await _authenticate(tasks, connection, ctx, app)
    if ctx.api_key is None:
        return _unauthenticated_reply(tasks)
    reply = await app[DISPATCHER].handle(tasks, ctx)
    await _maybe_drop(tasks, ctx, app)
    return reply


async def _authenticate(tasks: list, connection: Connection, ctx: RequestContext, app: web.Application) -> Reply:
    """The dispatcher checks the key; the hub decides the session (resumed or new)."""
    requested_session = tasks[0].get("connectionSessionUUID")
    reply = await app[DISPATCHER].handle(tasks, ctx)
    if reply.data and reply.data[0].get("taskType") == AUTH:
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


async def _send(reply: Reply, connection: Connection, app: web.Application) -> None:
    hub = app[WS_HUB]
    await hub.deliver(connection, reply_frames(reply.envelope()))
    if reply.data and reply.data[0].get("taskType") == AUTH:
        await hub.flush(connection)


async def _maybe_drop(tasks: list, ctx: RequestContext, app: web.Application) -> None:
    """Fire a drop armed through ``/__mock/ws/drop`` for one of this request's task types."""
    task_types = (task["taskType"] for task in tasks if isinstance(task, dict) and isinstance(task.get("taskType"), str))
    how = app[WS_HUB].take_armed_drop(ctx.namespace, task_types)
    if how is not None:
        await app[WS_HUB].drop(ctx.namespace, how)


def _is_authentication(task: Any) -> bool:
    return isinstance(task, dict) and task.get("taskType") == AUTH


async def handle_drop(request: web.Request) -> web.Response:
    """``POST /__mock/ws/drop`` ``{"apiKey": K, "how": "close1011"|"abort", "on"?: taskType}``:
    drop the key's sockets now, or (with ``on``) right after its next request of that task type."""
    try:
        body = await request.json()
        namespace, how, on = body["apiKey"], body.get("how", "close1011"), body.get("on")
        if not isinstance(namespace, str) or how not in DROP_HOW or not isinstance(on, (str, type(None))):
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise bad_control_request(f'Expected {{"apiKey": str, "how": {" | ".join(DROP_HOW)}, "on"?: taskType}}.') from None
    hub = request.app[WS_HUB]
    if on is not None:
        hub.arm_drop(namespace, on, how)
        return web.json_response({"armed": {"apiKey": namespace, "how": how, "on": on}})
    return web.json_response({"dropped": await hub.drop(namespace, how)})


def add_ws_routes(app: web.Application) -> None:
    """``GET /v1`` upgrades to a WebSocket (``POST /v1`` stays REST); the drop hook under /__mock/."""
    config = app[CONFIG]
    hub = app[WS_HUB] = WebSocketHub(app[CLOCK], app[DISPATCHER].ids.uuid4, idle_timeout=config.ws_idle_timeout,
                                     resume_window=config.ws_resume_window)
    app[HEALTH_SOURCES]["websocket"] = hub.stats
    app[HOUSEKEEPING].append(hub.close_idle_sockets)
    app.on_shutdown.append(lambda _app: hub.close_all())
    app.router.add_get("/v1", handle_socket)
    app.router.add_post("/__mock/ws/drop", handle_drop)

"""REST transport: ``POST /v1`` (any query string ignored): body -> tasks -> backend -> envelope.

``X-Runware-Dry-Run: 1`` marks the request a dry run (``ctx.dry_run``): the backend validates and
prices it, and runs nothing.

The body is read here, within the size limit, so an oversized body gets a Runware
``requestTooLarge`` (413) rather than aiohttp's plain-text one; the rest of an oversized body is
drained so the client can read the reply instead of hitting a reset connection. A reply can be
broken on request (``ctx.break_reply``: a reset connection, a malformed or a truncated body), the
way a flaky network or gateway breaks it: the control plane's faults ask, this module does it.
"""

from __future__ import annotations

import json
import socket
import struct

from aiohttp import web

from mockserver.errors import RunwareError
from mockserver.exchange import BACKEND, HOOKS, RequestContext, record, request_context, serve
from mockserver.protocol import SCENARIO_HEADER, Reply, decode_tasks, request_too_large, split_names
from mockserver.state import CONFIG
from mockserver.vocabulary import ReplyBreak, TaskType, Transport

API_PATH = "/v1"
DRAIN_FACTOR = 8  # beyond this multiple of the limit the connection is simply dropped
MALFORMED_BODY = f'{{"data": [{{"taskType": "{TaskType.VIDEO_INFERENCE}", "taskUUID": '.encode()  # cut mid-object: not JSON
TRUNCATED_EXTRA_BYTES = 64  # how many bytes Content-Length promises beyond those sent

async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, or ``requestTooLarge`` once it passes ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit * DRAIN_FACTOR:
        raise request_too_large(limit)
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > limit * DRAIN_FACTOR:
            break
    if size > limit:
        raise request_too_large(limit)
    return b"".join(chunks)


async def handle_post(request: web.Request) -> web.StreamResponse:
    app = request.app
    hooks = app[HOOKS]
    ctx = request_context(request, Transport.REST, split_names(request.headers.get(SCENARIO_HEADER)))

    # -- the body: one task array, or an error about the body ---------------------------------
    try:
        tasks = decode_tasks(await read_body(request, app[CONFIG].max_body_bytes))
    except RunwareError as error:
        reply = Reply.of([], [error])
    else:
        # -- the backend, behind the hooks that may delay or refuse it --------------------------
        reply = await serve(app[BACKEND], hooks, tasks, ctx)

    # -- the answer, written (or broken when a fault asked), then recorded ---------------------
    return await answer(request, ctx, reply)


async def answer(request: web.Request, ctx: RequestContext, reply: Reply) -> web.StreamResponse:
    """Write the reply, then record the exchange (``exchange.record``): how every HTTP answer of the
    API ends, a ``POST /v1`` as much as a refused upgrade or an unknown path."""
    response = await _respond(request, ctx, reply)
    record(request.config_dict[HOOKS], ctx, reply)
    return response


async def _respond(request: web.Request, ctx: RequestContext, reply: Reply) -> web.StreamResponse:
    """Write the reply as it goes out (broken if ``ctx.break_reply`` says so), recorded in ``ctx``
    (what the journal shows). It is written here, before the exchange's observers (the journal, the
    log) run, so the client has its answer sooner: 1.16 (submits) to 1.34 (getResponse) times the
    requests a second at one client (docs/performance.md). A reply that fits the socket's buffer is
    written without yielding, so no other request is read before the journal holds this one;
    aiohttp then finds the response sent and writes nothing more."""
    envelope = reply.envelope(Transport.REST)
    body = json.dumps(envelope)
    how = ctx.break_reply
    if how == ReplyBreak.RESET:
        _reset_connection(request)
        return web.Response(status=reply.http_status)  # never written: the connection is gone
    if how == ReplyBreak.TRUNCATED:
        sent = body.encode()[: len(body.encode()) // 2]
        truncated = web.StreamResponse(status=reply.http_status, headers={
            "Content-Type": "application/json", "Content-Length": str(len(body.encode()) + TRUNCATED_EXTRA_BYTES)})
        await truncated.prepare(request)
        await truncated.write(sent)
        _record(ctx, truncated, sent.decode("utf-8", "replace"))
        if request.transport is not None:
            request.transport.close()  # after the bytes above are flushed
        return truncated
    if how == ReplyBreak.MALFORMED:
        response = web.Response(status=200, body=MALFORMED_BODY, content_type="application/json")
        _record(ctx, response, MALFORMED_BODY.decode())
    else:
        response = web.Response(text=body, status=reply.http_status, content_type="application/json",
                                headers=ctx.response_headers or None)
        _record(ctx, response, envelope)
    try:
        await response.prepare(request)
        await response.write_eof()
    except ConnectionError:  # the client left; aiohttp's own write would have found the same
        pass
    return response


def _record(ctx: RequestContext, response: web.StreamResponse, body) -> None:
    ctx.response_status, ctx.sent_headers, ctx.sent_body = response.status, dict(response.headers), body


def _reset_connection(request: web.Request) -> None:
    """Abort with SO_LINGER 0: the peer gets a TCP RST, not an orderly close."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def add_rest_routes(app: web.Application) -> None:
    app.router.add_post(API_PATH, handle_post)

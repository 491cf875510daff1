"""How every HTTP answer of the API goes out: the reply written (or broken on request), then the
exchange recorded (``exchange.record``). ``POST /v1`` (``rest``), a refused WebSocket upgrade
(``ws``) and a 404 or 405 of the API (``http_errors``) all end here.

A reply can be broken on request (``ctx.break_reply``: a reset connection, a malformed or a
truncated body), the way a flaky network or gateway breaks it: the control plane's faults ask,
this module does it.
"""

from __future__ import annotations

import json
import socket
import struct

from aiohttp import web

from mockserver.contract.protocol import Reply
from mockserver.contract.vocabulary import ReplyBreak, TaskType, Transport
from mockserver.exchange import HOOKS, RequestContext, record

MALFORMED_BODY = f'{{"data": [{{"taskType": "{TaskType.VIDEO_INFERENCE}", "taskUUID": '.encode()  # cut mid-object: not JSON
TRUNCATED_EXTRA_BYTES = 64  # how many bytes Content-Length promises beyond those sent


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
        whole = body.encode()
        sent = whole[: len(whole) // 2]
        truncated = web.StreamResponse(status=reply.http_status, headers={
            "Content-Type": "application/json", "Content-Length": str(len(whole) + TRUNCATED_EXTRA_BYTES)})
        await truncated.prepare(request)
        await truncated.write(sent)
        _note_sent(ctx, truncated, sent.decode("utf-8", "replace"))
        if request.transport is not None:
            request.transport.close()  # after the bytes above are flushed
        return truncated
    if how == ReplyBreak.MALFORMED:
        response = web.Response(status=200, body=MALFORMED_BODY, content_type="application/json")
        _note_sent(ctx, response, MALFORMED_BODY.decode())
    else:
        response = web.Response(text=body, status=reply.http_status, content_type="application/json",
                                headers=ctx.response_headers or None)
        _note_sent(ctx, response, envelope)
    try:
        await response.prepare(request)
        await response.write_eof()
    except ConnectionError:  # the client left; aiohttp's own write would have found the same
        pass
    return response


def _note_sent(ctx: RequestContext, response: web.StreamResponse, body) -> None:
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

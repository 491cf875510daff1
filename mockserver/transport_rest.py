"""REST transport: ``POST /v1`` (any query string ignored) -> dispatcher -> JSON envelope.

The body is read here, within the size limit, so an oversized body gets a Runware
``requestTooLarge`` (413) rather than aiohttp's plain-text one; the rest of an oversized body is
drained so the client can read the reply instead of hitting a reset connection.
"""

from __future__ import annotations

import itertools
import json

from aiohttp import web

from mockserver.dispatcher import RequestContext
from mockserver.errors import RunwareError
from mockserver.protocol import Reply, decode_tasks, request_too_large
from mockserver.state import CONFIG, DISPATCHER

DRAIN_FACTOR = 8  # beyond this multiple of the limit the connection is simply dropped

_request_ids = itertools.count(1)


def bearer_key(authorization: str | None) -> str | None:
    """The key of an ``Authorization: Bearer KEY`` header; "" for any other (unusable) form."""
    if authorization is None:
        return None
    scheme, _, key = authorization.strip().partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def request_context(request: web.Request, transport: str) -> RequestContext:
    return RequestContext(
        transport=transport,
        base_url=f"{request.scheme}://{request.host}",
        api_key=bearer_key(request.headers.get("Authorization")),
        headers=request.headers,
        request_id=f"req-{next(_request_ids)}",
    )


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


class EnvelopeResponse(web.Response):
    """A JSON reply that keeps the envelope it was serialized from, so the journal records it
    without parsing the body back."""

    def __init__(self, reply: Reply) -> None:
        self.envelope = reply.envelope()
        super().__init__(text=json.dumps(self.envelope), status=reply.http_status, content_type="application/json")


async def handle_post(request: web.Request) -> web.Response:
    ctx = request_context(request, "rest")
    try:
        tasks = decode_tasks(await read_body(request, request.app[CONFIG].max_body_bytes))
    except RunwareError as error:
        reply = Reply.of([], [error])
    else:
        reply = await request.app[DISPATCHER].handle(tasks, ctx)
    return EnvelopeResponse(reply)


def add_rest_routes(app: web.Application) -> None:
    app.router.add_post("/v1", handle_post)

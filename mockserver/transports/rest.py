"""REST transport: ``POST /v1`` (any query string ignored): body -> tasks -> backend -> envelope.

``X-Runware-Dry-Run: 1`` marks the request a dry run (``ctx.dry_run``): the backend validates and
prices it, and runs nothing.

The body is read here, within the size limit, so an oversized body gets a Runware
``requestTooLarge`` (413) rather than aiohttp's plain-text one; the rest of an oversized body is
drained so the client can read the reply instead of hitting a reset connection. The reply is
written, and broken when a fault asks, by ``http_answer``.
"""

from __future__ import annotations

from aiohttp import web

from mockserver.contract.errors import RunwareError
from mockserver.contract.protocol import SCENARIO_HEADER, Reply, decode_tasks, request_too_large, split_names
from mockserver.contract.vocabulary import Transport
from mockserver.exchange import BACKEND, HOOKS, request_context, serve
from mockserver.state import CONFIG
from mockserver.transports.http_answer import answer

API_PATH = "/v1"
DRAIN_FACTOR = 8  # beyond this multiple of the limit the connection is simply dropped


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


def add_rest_routes(app: web.Application) -> None:
    app.router.add_post(API_PATH, handle_post)

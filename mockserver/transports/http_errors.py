"""Runware-shaped replies for requests no route serves (``GET /v1`` without an upgrade, a
wrong path, a wrong method), so a misconfigured client reads an error it understands instead of
aiohttp's plain text, and the journal holds the attempt (``http_answer.answer``) like any other bad
input. Media keep their plain 404: they are files, not API replies; the control plane's own 404s
and 405s are its business, not API traffic, and are not journalled.

A request that is not valid HTTP at all (a NUL in a header, a broken request line) never reaches
a route: aiohttp answers it 400 itself and logs it at ERROR with a traceback, as if the server had
failed. ``ClientProtocolErrors`` makes that one WARNING line naming what the client sent.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from mockserver.contract.errors import RunwareError
from mockserver.contract.protocol import CONTROL_MOUNT, Reply, control_error_response
from mockserver.contract.vocabulary import Transport
from mockserver.exchange import request_context
from mockserver.transports.http_answer import answer

MEDIA_PREFIX = "/media/"


@web.middleware
async def runware_http_errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPMethodNotAllowed as exc:
        allowed = sorted(exc.allowed_methods)
        error = RunwareError("methodNotAllowed", f"{request.method} is not served at {request.path}; use "
                             f"{', '.join(allowed)}. The API is POST /v1 (REST) or a WebSocket upgrade of GET /v1.",
                             allowedValues=allowed)
        return await _refuse(request, error, {"Allow": ",".join(allowed)})
    except web.HTTPNotFound:
        if request.path.startswith(MEDIA_PREFIX):
            raise
        error = RunwareError("unknownEndpoint", f"Nothing is served at {request.path}. The API is POST /v1 "
                             f"(REST) or ws://HOST:PORT/v1; the control plane is under {CONTROL_MOUNT}.")
        return await _refuse(request, error)


async def _refuse(request: web.Request, error: RunwareError, headers: dict[str, str] | None = None) -> web.StreamResponse:
    """The API's refusal envelope (``data: []``, as the live service refuses), answered and
    journalled; under the control plane's mount its own envelope, which has no data."""
    if request.path.startswith(CONTROL_MOUNT):
        return control_error_response(error, headers)
    ctx = request_context(request, Transport.REST)
    ctx.response_headers.update(headers or {})
    return await answer(request, ctx, Reply.of([], [error]))


class ClientProtocolErrors(logging.Filter):
    """On ``aiohttp.server``: a request aiohttp could not parse is the client's mistake, not a
    server failure: one WARNING line, the first line of the parser's message, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and 400 <= (error.code or 0) < 500:
            record.msg = f"{record.getMessage()}: not valid HTTP ({error.code}, {str(error.message).splitlines()[0]})"
            record.args, record.exc_info, record.exc_text = (), None, None
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


def add_http_error_middleware(app: web.Application) -> None:
    app.middlewares.append(runware_http_errors)
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(existing, ClientProtocolErrors) for existing in server_log.filters):
        server_log.addFilter(ClientProtocolErrors())

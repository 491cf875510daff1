"""Runware-shaped replies for requests no route serves (``GET /v1`` without an upgrade, a
wrong path, a wrong method), so a misconfigured client reads an error it understands instead of
aiohttp's plain text. Media keep their plain 404: they are files, not API replies."""

from __future__ import annotations

from aiohttp import web

from mockserver.errors import RunwareError

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
        return web.json_response({"errors": [error.to_wire()]}, status=405, headers={"Allow": ",".join(allowed)})
    except web.HTTPNotFound:
        if request.path.startswith(MEDIA_PREFIX):
            raise
        error = RunwareError("unknownEndpoint", f"Nothing is served at {request.path}. The API is POST /v1 "
                             "(REST) or ws://HOST:PORT/v1; the control plane is under /__mock/.")
        return web.json_response({"errors": [error.to_wire()]}, status=404)


def add_http_error_middleware(app: web.Application) -> None:
    app.middlewares.append(runware_http_errors)

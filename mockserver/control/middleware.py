"""The control sub-application's own middleware: the optional control token, and every
``RunwareError`` a route raises rendered as a Runware error envelope with its status."""

from __future__ import annotations

import hmac

from aiohttp import web

from mockserver.contract.errors import RunwareError
from mockserver.contract.protocol import CONTROL_MOUNT, control_error_response

TOKEN_HEADER = "X-Vidmock-Control-Token"
OPEN_PATHS = (f"{CONTROL_MOUNT}health", CONTROL_MOUNT)  # GET only: health, and the static dashboard page


def control_middleware(token: str | None):
    @web.middleware
    async def control(request: web.Request, handler) -> web.StreamResponse:
        if token is not None and not (request.method == "GET" and request.path in OPEN_PATHS):
            if not hmac.compare_digest(request.headers.get(TOKEN_HEADER, "").encode(), token.encode()):
                return control_error_response(RunwareError(
                    "invalidControlToken", f"The control API needs the header {TOKEN_HEADER} with the token the "
                    "server was started with (--control-token / VIDMOCK_CONTROL_TOKEN)."))
        try:
            return await handler(request)
        except RunwareError as error:  # a route refusing its input
            return control_error_response(error)

    return control

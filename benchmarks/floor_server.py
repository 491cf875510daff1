"""The floor: the least an aiohttp server can do with a task array, to compare vidmock against.

``POST /v1`` echoes the parsed body as ``{"data": tasks}``; ``GET /v1`` is a WebSocket doing the
same per text frame. Same framework, client and machine as vidmock, so the ratio between the two
is what vidmock's own work costs. Prints ``floor serving on http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import json
import socket

from aiohttp import WSMsgType, web


async def echo(request: web.Request) -> web.Response:
    tasks = json.loads(await request.read())
    return web.json_response({"data": tasks})


async def echo_socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        if message.type is WSMsgType.TEXT:
            await ws.send_str(json.dumps({"data": json.loads(message.data)}))
    return ws


if __name__ == "__main__":
    app = web.Application()
    app.router.add_post("/v1", echo)
    app.router.add_get("/v1", echo_socket)
    listening = socket.create_server(("127.0.0.1", 0))  # listening before the line: no refused first connection
    print(f"floor serving on http://127.0.0.1:{listening.getsockname()[1]}", flush=True)
    web.run_app(app, sock=listening, access_log=None, print=None)  # Ctrl-C or SIGTERM: a clean exit

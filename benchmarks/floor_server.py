"""The floor: the least an aiohttp server can do with a task array, to compare vidmock against.

``POST /v1`` parses the JSON body and echoes it back as ``{"data": tasks}``; ``GET /v1`` upgrades
to a WebSocket that does the same per text frame. Same framework, same client, same machine as
vidmock, so the ratio between the two is what vidmock's own work costs. Prints ``floor serving on
http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import asyncio
import json
import signal

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


async def serve() -> None:
    app = web.Application()
    app.router.add_post("/v1", echo)
    app.router.add_get("/v1", echo_socket)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"floor serving on http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve())

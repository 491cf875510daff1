"""Faulty on purpose: asks for a webhook, then answers it 500 (caught by VM009, webhooks are
answered 2xx promptly). The receiver listens on 127.0.0.1 only."""

import asyncio
import sys

from aiohttp import web

from reference_client import Client, main


class BadReceiver(Client):
    async def run(self) -> int:
        received = asyncio.Event()

        async def webhook(request: web.Request) -> web.Response:
            received.set()
            return web.Response(status=500)  # the bug: the handler crashed

        runner = web.AppRunner(web.Application())
        runner.app.router.add_post("/hook", webhook)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        task = {**self.video_task(), "webhookURL": f"http://127.0.0.1:{port}/hook"}
        await self.submit(task)
        await self.wait(task)
        await asyncio.wait_for(received.wait(), 30)
        await runner.cleanup()
        return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(BadReceiver)))

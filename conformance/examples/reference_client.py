"""A well-behaved REST client of videoInference: what ``vidmock check`` passes with exit 0.

It authenticates with a Bearer header, sends one valid task under a fresh UUID v4, retries a
refused submit under the same UUID (honouring Retry-After), then polls with back-off until the
task succeeds or fails, and stops there. The faulty examples next to it each change one method.

Run: ``vidmock check -- python conformance/examples/reference_client.py``
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

import aiohttp

TRANSIENT = (429, 500, 502, 503, 504)


class Client:
    first_poll_delay = 0.5  # seconds after the ack
    poll_interval = 0.5  # then x1.5 per poll, up to max_poll_interval
    max_poll_interval = 10.0
    max_attempts = 5

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.url = os.environ["VIDMOCK_HTTP_URL"]
        self.key = os.environ["VIDMOCK_API_KEY"]

    def video_task(self) -> dict:
        return {"taskType": "videoInference", "taskUUID": str(uuid.uuid4()), "model": "alibaba:wan@2.7",
                "positivePrompt": "a lighthouse at dusk, waves", "width": 1280, "height": 720, "duration": 2}

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.key}"}

    async def post(self, tasks: list) -> tuple[int, dict]:
        """(status, body); transient failures (429, 5xx) are retried here, after Retry-After."""
        for attempt in range(1, self.max_attempts + 1):
            async with self.session.post(self.url, json=tasks, headers=self.headers()) as response:
                body = await response.json()
                if response.status not in TRANSIENT or attempt == self.max_attempts:
                    return response.status, body
                await asyncio.sleep(self.retry_delay(response, attempt))
        raise AssertionError("unreachable")

    def retry_delay(self, response: aiohttp.ClientResponse, attempt: int) -> float:
        retry_after = response.headers.get("Retry-After")
        return float(retry_after) if retry_after is not None else 0.5 * 2 ** (attempt - 1)

    async def submit(self, task: dict) -> None:
        status, body = await self.post([task])
        errors = [e for e in body.get("errors", []) if e.get("code") != "conflictTaskUUID"]
        if errors:  # conflictTaskUUID on a retry: our first attempt got through
            raise RuntimeError(f"submit failed: {errors[0]['code']}: {errors[0]['message']}")

    async def wait(self, task: dict) -> list[dict]:
        """Poll with back-off until the task ends; returns the success items."""
        await asyncio.sleep(self.first_poll_delay)
        interval = self.poll_interval
        while True:
            status, body = await self.post([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
            for error in body.get("errors", []):
                if error.get("taskUUID") == task["taskUUID"]:
                    raise RuntimeError(f"task failed: {error['code']}: {error['message']}")
            done = [item for item in body.get("data", []) if item.get("status") == "success"]
            if done:
                return done
            await self.sleep_between_polls(interval)
            interval = min(interval * 1.5, self.max_poll_interval)

    async def sleep_between_polls(self, interval: float) -> None:
        await asyncio.sleep(interval)

    async def run(self) -> int:
        task = self.video_task()
        await self.submit(task)
        try:
            videos = await self.wait(task)
        except RuntimeError as error:
            print(error, file=sys.stderr)
            return 1
        for video in videos:
            print(video["videoURL"])
        return 0


async def main(client_class: type[Client] = Client) -> int:
    async with aiohttp.ClientSession() as session:
        return await client_class(session).run()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""A well-behaved REST client of videoInference: what ``vidmock check`` passes with exit 0.

It authenticates with a Bearer header, sends one valid task under a fresh UUID v4 (text to
video; with ``--first-frame``, image to video from an inline first frame), retries a refused or
dropped request (429, 5xx, a reset connection, a broken body) under the same UUID, honouring
Retry-After, then polls with back-off until the task succeeds or fails, and stops there. A
refused submit (insufficientCredits, a failed upload...) is the end: it never polls a task the
API did not accept. It exits 0 with the video URLs, or 1 when the task ends without a usable
video (a task error, results flagged NSFW, a refused submit): the outcome contract of
docs/conformance.md, which
``vidmock check --explore 25 --outcomes all`` finds it keeps. The faulty examples next to it each
change one method.

Run: ``vidmock check -- python conformance/examples/reference_client.py``
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

import aiohttp

TRANSIENT = (429, 500, 502, 503, 504)
BROKEN = (aiohttp.ClientError, ValueError)  # a dropped connection, a body that is not JSON
# a 16x9 PNG: the first frame of an image-to-video task (the video takes its aspect)
FIRST_FRAME = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAJCAIAAAC0SDtlAAAAF0lEQVR42mPUiFrAQApgYiAR"
               "jGqgiQYAAi4BNFs4jroAAAAASUVORK5CYII=")


class GaveUp(RuntimeError):
    """The task ended without a usable video, or the API kept refusing."""


class Client:
    first_poll_delay = 0.5  # seconds after the ack
    poll_interval = 0.5  # then x1.5 per poll, up to max_poll_interval
    max_poll_interval = 10.0
    max_attempts = 6  # per request: the first try and five retries
    max_retry_delay = 2.0  # seconds between retries without a Retry-After

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.url = os.environ["VIDMOCK_HTTP_URL"]
        self.key = os.environ["VIDMOCK_API_KEY"]

    def video_task(self) -> dict:
        task = {"taskType": "videoInference", "taskUUID": str(uuid.uuid4()), "model": "alibaba:wan@2.7",
                "positivePrompt": "a lighthouse at dusk, waves", "width": 1280, "height": 720, "duration": 2}
        if "--first-frame" in sys.argv[1:]:  # image to video: sized from the frame
            del task["width"], task["height"]
            task["inputs"] = {"frameImages": [{"image": FIRST_FRAME, "frame": "first"}]}
        return task

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.key}"}

    async def post(self, tasks: list) -> tuple[int, dict]:
        """(status, body); transient failures (429, 5xx, a dropped connection, a broken body) are
        retried here, after Retry-After when the reply has one."""
        for attempt in range(1, self.max_attempts + 1):
            last = attempt == self.max_attempts
            try:
                async with self.session.post(self.url, json=tasks, headers=self.headers()) as response:
                    body = await response.json()
                    if response.status not in TRANSIENT or last:
                        return response.status, body
                    await asyncio.sleep(self.retry_delay(response, attempt))
            except BROKEN as error:
                if last:
                    raise GaveUp(f"no reply after {attempt} attempt(s): {error!r}") from None
                await asyncio.sleep(self.retry_delay(None, attempt))
        raise AssertionError("unreachable")

    def retry_delay(self, response: aiohttp.ClientResponse | None, attempt: int) -> float:
        retry_after = response.headers.get("Retry-After") if response is not None else None
        return float(retry_after) if retry_after is not None else min(0.5 * 2 ** (attempt - 1), self.max_retry_delay)

    async def submit(self, task: dict) -> None:
        status, body = await self.post([task])
        errors = [e for e in body.get("errors", []) if e.get("code") != "conflictTaskUUID"]
        if errors:  # conflictTaskUUID on a retry: our first attempt got through
            raise GaveUp(f"submit failed: {errors[0]['code']}: {errors[0]['message']}")

    async def wait(self, task: dict) -> list[dict]:
        """Poll with back-off until the task ends; returns the success items."""
        await asyncio.sleep(self.first_poll_delay)
        interval = self.poll_interval
        while True:
            status, body = await self.post([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
            for error in body.get("errors", []):
                if error.get("taskUUID") == task["taskUUID"]:
                    raise GaveUp(f"task failed: {error['code']}: {error['message']}")
            done = [item for item in body.get("data", []) if item.get("status") == "success"]
            if any(item.get("NSFWContent") for item in done):
                raise GaveUp("the video was flagged NSFWContent: not usable")
            if done:
                return done
            await self.sleep_between_polls(interval)
            interval = min(interval * 1.5, self.max_poll_interval)

    async def sleep_between_polls(self, interval: float) -> None:
        await asyncio.sleep(interval)

    async def use(self, task: dict, videos: list[dict]) -> None:
        """What the application does with its videos: here, print their URLs. It assumes nothing
        of their size or length: live videos may be a few pixels and frames off the request."""
        for video in videos:
            print(video["videoURL"])

    async def run(self) -> int:
        task = self.video_task()
        try:
            await self.submit(task)
            videos = await self.wait(task)
            await self.use(task, videos)
        except GaveUp as error:
            print(error, file=sys.stderr)
            return 1
        return 0


async def main(client_class: type[Client] = Client) -> int:
    async with aiohttp.ClientSession() as session:
        return await client_class(session).run()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

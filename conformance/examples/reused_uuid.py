"""Faulty on purpose: sends a second, different task under the first one's taskUUID
(caught by VM002, taskUUIDs name one task only)."""

import asyncio
import sys

from reference_client import Client, main


class UuidReuser(Client):
    async def run(self) -> int:
        first = self.video_task()
        await self.submit(first)
        await self.wait(first)
        second = {**self.video_task(), "taskUUID": first["taskUUID"], "positivePrompt": "a second video"}
        status, body = await self.post([second])
        print(body, file=sys.stderr)
        return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(UuidReuser)))

"""Faulty on purpose: sends numbers as strings (caught by VM001, requests validate)."""

import asyncio
import sys

from reference_client import Client, main


class StringlyTyped(Client):
    def video_task(self) -> dict:
        return {**super().video_task(), "width": "1280", "height": "720", "duration": "2"}

    async def run(self) -> int:
        status, body = await self.post([self.video_task()])
        print(body["errors"][0]["code"], file=sys.stderr)
        return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(StringlyTyped)))

"""Faulty on purpose: forgets the API key (caught by VM008, authentication comes first)."""

import asyncio
import sys

from reference_client import Client, main


class Anonymous(Client):
    def headers(self) -> dict:
        return {}

    async def run(self) -> int:
        status, body = await self.post([self.video_task()])
        print(body["errors"][0]["code"], file=sys.stderr)
        return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(Anonymous)))

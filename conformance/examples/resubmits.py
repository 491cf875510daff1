"""Faulty on purpose: impatient, it sends the acknowledged task again when the first poll says
processing (caught by VM006, no resubmission of an acknowledged task)."""

import asyncio
import sys

from reference_client import Client, main


class Resubmitter(Client):
    async def wait(self, task: dict) -> list[dict]:
        await asyncio.sleep(self.first_poll_delay)
        status, body = await self.post([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
        if any(item.get("status") == "processing" for item in body.get("data", [])):
            await self.post([task])  # the bug: "maybe it got lost, send it again"
        return await super().wait(task)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(Resubmitter)))

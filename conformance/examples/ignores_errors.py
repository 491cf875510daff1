"""Faulty on purpose: ignores the task's error and keeps polling (caught by VM005, polling stops
at a final status). Run it with a failing task:
``vidmock check --fault '{"action": "taskError", "code": "providerError"}' -- python ignores_errors.py``"""

import asyncio
import sys

from reference_client import Client, main

EXTRA_POLLS = 3


class ErrorIgnorer(Client):
    async def wait(self, task: dict) -> list[dict]:
        await asyncio.sleep(self.first_poll_delay)
        extra = 0
        while extra < EXTRA_POLLS:
            status, body = await self.post([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
            done = [item for item in body.get("data", []) if item.get("status") == "success"]
            if done:
                return done
            extra += 1 if body.get("errors") else 0  # the bug: an error is "not done yet"
            await asyncio.sleep(self.poll_interval)
        return []


if __name__ == "__main__":
    sys.exit(asyncio.run(main(ErrorIgnorer)))

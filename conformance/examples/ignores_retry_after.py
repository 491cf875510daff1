"""Faulty on purpose: retries a 429 at once instead of after Retry-After (caught by VM007). Run it
with a rate limit: ``vidmock check --fault '{"action": "status", "status": 429, "retryAfter": 1}' -- ...``"""

import asyncio
import sys

from reference_client import Client, main


class Impatient(Client):
    def retry_delay(self, response, attempt: int) -> float:
        return 0.05


if __name__ == "__main__":
    sys.exit(asyncio.run(main(Impatient)))

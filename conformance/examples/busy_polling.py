"""Faulty on purpose: polls without sleeping (caught by VM004, busy polling)."""

import asyncio
import sys

from reference_client import Client, main


class BusyPoller(Client):
    first_poll_delay = 0.0

    async def sleep_between_polls(self, interval: float) -> None:
        await asyncio.sleep(0.01)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(BusyPoller)))

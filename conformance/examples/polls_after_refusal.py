"""Faulty on purpose: never reads its submit's reply and goes straight to polling, so a refused
task looks like one still rendering. A user reported that the live service answers ``processing``
to getResponse for a task refused with insufficientCredits (reported, unconfirmed): such a client
then waits for hours. ``vidmock check --scenario credits-exhausted --timeout 10 -- python
polls_after_refusal.py`` catches it (VM003: it polls a task the API never accepted, and it runs
past its time-out); with every submit accepted it behaves."""

import asyncio
import sys

from reference_client import Client, main


class PollsAfterRefusal(Client):
    async def submit(self, task: dict) -> None:
        await self.post([task])  # the bug: the reply, a refusal or not, is not read


if __name__ == "__main__":
    sys.exit(asyncio.run(main(PollsAfterRefusal)))

"""Long-polls on tasks (``GET /__mock/tasks/{taskUUID}/wait``), woken by the jobs themselves.

The job store calls ``on_job_finished`` once per job as it ends (success, error, or its last
generation settled in a staggered release); the control plane's reset silences jobs without that
call, so it wakes the waiters itself, and a server shutting down ends every wait (a 408). A waiter re-checks its own condition on every wake: there is
no timer, so a wait answers the moment the job changes, and costs nothing while it does not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from mockserver.jobs.store import Job


class TaskWaits:
    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self.waiting = 0  # waiters now: a job finishing with none (the usual case) costs one check
        self._closed = False

    def job_finished(self, job: Job) -> Awaitable[None] | None:
        """The ``JobStore.on_job_finished`` subscription (an awaitable runs in the background)."""
        return self.wake() if self.waiting else None

    async def wake(self) -> None:
        """Let every waiter look again (a job ended or was forgotten)."""
        async with self._changed:
            self._changed.notify_all()

    async def close(self) -> None:
        """End every wait now (server shutdown: open requests are awaited after this)."""
        self._closed = True
        await self.wake()

    async def wait(self, settled: Callable[[], bool], timeout: float) -> bool:
        """Until ``settled()`` holds or ``timeout`` seconds (wall clock) have passed; whether it holds."""
        self.waiting += 1
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: self._closed or settled())
        except TimeoutError:
            pass
        finally:
            self.waiting -= 1
        return settled()

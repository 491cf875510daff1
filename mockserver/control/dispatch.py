"""The dispatcher, wrapped: request faults around ``Dispatcher.handle`` and what the journal
needs from inside it (the tasks, every violation, the namespace an authentication task set).

Task handlers stay unaware of all this. Outside a transport hook (no current ``Exchange``, e.g.
in-process use) the wrapper is transparent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from mockserver.control.exchange import CURRENT, Exchange
from mockserver.control.faults import REST_ONLY, WS_ONLY, Fault
from mockserver.control.plane import ControlPlane
from mockserver.dispatcher import Dispatcher, RequestContext
from mockserver.errors import RunwareError
from mockserver.protocol import Reply


class ControlledDispatcher(Dispatcher):
    def __init__(self, plane: ControlPlane, *args: Any) -> None:
        super().__init__(*args)
        self.plane = plane

    async def handle(self, tasks: list[Any], ctx: RequestContext) -> Reply:
        exchange = CURRENT.get()
        if exchange is None:
            return await super().handle(tasks, ctx)
        entry = exchange.entry
        entry.record_tasks(tasks)
        entry.request_id = ctx.request_id
        namespace = ctx.api_key or _leading_auth_key(tasks)
        entry.namespace = namespace
        delay = response = None
        if self.plane.armed(exchange.scenario_names):
            selection = self.plane.scenarios.select(exchange.scenario_names, namespace)
            delay, response = self.plane.request_faults(namespace, entry.transport, tasks, selection)
        if delay is not None:
            await self._delay(delay, tasks, entry)
        if response is not None:
            response.consume(response.budget_key(tasks))
        if response is not None and response.action == "status":
            return self._refuse(response, tasks, exchange)
        if response is not None and response.action in REST_ONLY and not response.params["processed"]:
            exchange.transport_fault = response
            entry.faults.append(response.record())
            return Reply.of([], [RunwareError("serviceUnavailable", "Connection failed.").for_task(_first(tasks))])
        reply = await super().handle(tasks, ctx)
        entry.namespace = ctx.api_key or namespace
        entry.record_violations(tasks, reply.violations)
        if response is not None:
            entry.faults.append(response.record())
            if response.action in REST_ONLY:
                exchange.transport_fault = response
            elif response.action in WS_ONLY and self.plane.ws_hub is not None:
                await self.plane.ws_hub.drop(entry.namespace, response.action)  # the reply waits for a resume
        return reply

    async def _delay(self, fault: Fault, tasks: list, entry) -> None:
        fault.consume(fault.budget_key(tasks))
        milliseconds = fault.sample_delay_ms(self.plane.rng)
        entry.faults.append(fault.record(delayMs=round(milliseconds, 3)))
        await asyncio.sleep(milliseconds / 1000)

    @staticmethod
    def _refuse(fault: Fault, tasks: list, exchange: Exchange) -> Reply:
        """Answer with the fault's status instead of running the request (as a gateway would)."""
        if "retryAfter" in fault.params:
            exchange.extra_headers["Retry-After"] = str(fault.params["retryAfter"])
        exchange.entry.faults.append(fault.record())
        return Reply.of([], [fault.error(_first(tasks))])


def _leading_auth_key(tasks: list) -> str | None:
    first = _first(tasks)
    if isinstance(first, Mapping) and first.get("taskType") == "authentication" and isinstance(first.get("apiKey"), str):
        return first["apiKey"]
    return None


def _first(tasks: list) -> Any:
    return tasks[0] if tasks else None

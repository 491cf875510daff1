"""The control plane's state, and what it does to every exchange.

State: the journal, the faults, the scenario catalogue, the recent-task index, the clock and the
registry of stores it resets. What it does, through the hooks it fills in at composition
(``mockserver.exchange.Hooks``; nothing below the composition root calls it directly):

- ``socket_opening``: an unknown scenario on a WebSocket upgrade refuses the upgrade;
- ``before_backend``: an unknown scenario refuses the request; a matching ``delay`` fault waits; a
  poll of a task an ``error`` fault refused with ``pollsProcessing`` answers ``processing``; a
  matching response fault answers instead of the backend (``status``, ``error``) or asks the
  transport to break the reply (``reset``/``malformed``/``truncated``, ``close1011``/``abort``);
- ``task_accepted``: a videoInference about to become a job gets the progression, result release,
  outcome, webhook behaviour and media inexactness its request's scenarios and outcome faults ask for;
- ``exchange_done``: the journal records the exchange, whatever happened to it, and the drift log
  the findings a proxying backend left on it.

It also observes the job store: ``on_job_submitted`` fills the task index, ``on_job_finished``
wakes the long-polls on tasks (``task_waits.py``).
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from mockserver.contract.errors import RunwareError
from mockserver.contract.protocol import Reply, is_authentication
from mockserver.contract.vocabulary import FaultAction, TaskType, Transport
from mockserver.control.drift_log import DriftLog
from mockserver.control.faults import OUTCOME_ACTIONS, RESPONSE_ACTIONS, Fault, FaultBook
from mockserver.control.journal import Journal, JournalEntry
from mockserver.control.refused import RefusedTasks
from mockserver.control.scenarios import ScenarioCatalogue, Selection
from mockserver.control.task_index import TaskIndex
from mockserver.control.task_waits import TaskWaits
from mockserver.core.clock import AdvanceableClock, ManualClock
from mockserver.delivery.engine import DeliveryEngine, WebhookBehaviour
from mockserver.exchange import Hooks, RequestContext
from mockserver.jobs.store import JobStore, Outcome, processing_item
from mockserver.media.inexact import Inexactness
from mockserver.media.store import MediaStore
from mockserver.state import Resettable


class ControlPlane:
    def __init__(self, clock: AdvanceableClock, jobs: JobStore, media: MediaStore, delivery: DeliveryEngine,
                 stores: dict[str, Resettable], *, journal_size: int, control_token: str | None,
                 seed: int | None) -> None:
        self.clock = clock
        self.jobs = jobs
        self.media = media
        self.delivery = delivery
        self.control_token = control_token
        self.default_policy = jobs.policies.default  # what PUT /__mock/progression {"policy": null} restores
        self.default_results = jobs.results.default  # what {"results": null} restores
        self.frozen_clock = isinstance(clock.base, ManualClock)  # --virtual-clock: only advance moves time
        self.journal = Journal(journal_size)
        self.faults = FaultBook()
        self.scenarios = ScenarioCatalogue()
        self.tasks = TaskIndex(jobs, media)
        self.refused = RefusedTasks()  # polls of these answer processing (an error fault's pollsProcessing)
        self.drift = DriftLog()  # what a proxy found (ctx.findings), by journal entry
        self.rng = random.Random(seed)  # delay samples: reproducible under --seed
        self.waits = TaskWaits()  # GET /__mock/tasks/{taskUUID}/wait
        jobs.on_job_submitted.append(self.tasks.add)
        jobs.on_job_finished.append(self.waits.job_finished)
        # every store with per-key state, the control plane's own included: one reset for all
        self.stores = stores
        stores.update({"journalEntries": self.journal, "faults": self.faults, "scenarioBudgets": self.scenarios,
                       "taskIndex": self.tasks, "driftFindings": self.drift,
                       "refusedTasks": self.refused})

    def install(self, hooks: Hooks) -> None:
        hooks.socket_opening.append(self.socket_opening)
        hooks.before_backend.append(self.before_backend)
        hooks.task_accepted.append(self.task_accepted)
        hooks.exchange_done.append(self.exchange_done)

    def armed(self, scenario_names: tuple[str, ...]) -> bool:
        """Whether any fault is installed or a scenario is in force: when not (the usual case),
        requests and jobs skip fault and scenario matching altogether."""
        return bool(self.faults) or bool(scenario_names) or bool(self.refused)

    # -- the hooks --------------------------------------------------------------------------------

    def socket_opening(self, ctx: RequestContext) -> RunwareError | None:
        try:
            self.scenarios.check(ctx.scenarios)
        except RunwareError as error:
            return error
        return None

    async def before_backend(self, ctx: RequestContext) -> Reply | None:
        if not self.armed(ctx.scenarios) or (ctx.transport is Transport.WS and ctx.claimed_key is None):
            return None  # nothing to do; or a frame of a socket with no key: journalled, never faulted
        try:
            selection = self.scenarios.select(ctx.scenarios, ctx.claimed_key)
        except RunwareError as error:  # an unknown scenario: nothing runs
            return Reply.of([], [error])
        delay, response = self._request_faults(ctx, selection)
        if delay is not None:
            delay.consume(delay.budget_key(ctx.tasks))
            milliseconds = delay.sample_delay_ms(self.rng)
            ctx.faults.append(delay.record(delayMs=round(milliseconds, 3)))
            await asyncio.sleep(milliseconds / 1000)
        still_processing = self._refused_polls(ctx)
        if still_processing is not None:
            return still_processing
        if response is None:
            return None
        response.consume(response.budget_key(ctx.tasks))
        ctx.faults.append(response.record())
        tasks = [task for task in ctx.tasks or [] if isinstance(task, dict)]
        first = next((task for task in tasks if response.task_type in (None, task.get("taskType"))),
                     ctx.tasks[0] if ctx.tasks else None)
        if response.action is FaultAction.ERROR:  # a code seen live, answered instead of running the request
            if response.params.get("pollsProcessing"):
                for task in tasks:
                    if task.get("taskType") == TaskType.VIDEO_INFERENCE and isinstance(task.get("taskUUID"), str):
                        self.refused.add(ctx.claimed_key or "", task["taskUUID"], response)
            return Reply.of([], [response.error(first)])
        if response.action is FaultAction.STATUS:  # answered instead of run, as a gateway would
            if "retryAfter" in response.params:
                ctx.response_headers["Retry-After"] = str(response.params["retryAfter"])
            return Reply.of([], [response.error(first)])
        ctx.break_reply = response.action
        if response.action.transport is Transport.REST and not response.params["processed"]:
            return Reply.of([], [RunwareError("serviceUnavailable", "Connection failed.").for_task(first)])
        return None  # the backend runs; the transport breaks its reply

    def task_accepted(self, ctx: RequestContext, task: dict) -> None:
        """Give the task what the request's scenarios and outcome faults ask for."""
        if not self.armed(ctx.scenarios):
            return
        namespace, task_uuid = ctx.namespace, task["taskUUID"]
        selection = self.scenarios.select(ctx.scenarios, namespace)
        if selection.policy is not None:
            self.jobs.policies.set_task(namespace, task_uuid, selection.policy)
        if selection.results is not None:
            self.jobs.results.set_task(namespace, task_uuid, selection.results)
        as_request = [{"taskType": TaskType.VIDEO_INFERENCE, "taskUUID": task_uuid}]
        candidates = [*self.faults.active(namespace), *selection.faults]
        outcome = self.jobs.outcomes.task_value(namespace, task_uuid) or Outcome()
        for action in OUTCOME_ACTIONS:
            fault = next((f for f in candidates if f.action is action and f.matches(namespace, ctx.transport, as_request)),
                         None)
            if fault is None:
                continue
            fault.consume(fault.budget_key(as_request))
            ctx.faults.append(fault.record(taskUUID=task_uuid))
            params = fault.params
            if action is FaultAction.TASK_ERROR:
                generations = tuple(sorted(params["generations"])) if "generations" in params else None
                outcome = Outcome(params["code"], params.get("message"), outcome.nsfw, generations)
            elif action is FaultAction.NSFW:
                outcome = Outcome(outcome.error_code, outcome.error_message, True, outcome.generations)
            elif action is FaultAction.INEXACT_MEDIA:
                self.jobs.inexact.set_task(namespace, task_uuid, Inexactness.of(params))
            else:
                self.delivery.behaviours.set_task(namespace, task_uuid, WebhookBehaviour(
                    params.get("delayMs", 0) / 1000, params.get("duplicate", False), params.get("reorder", False)))
        if outcome != Outcome():
            self.jobs.outcomes.set_task(namespace, task_uuid, outcome)

    def exchange_done(self, ctx: RequestContext) -> None:
        entry = self.journal.add(JournalEntry.of(ctx))
        if entry.drift:
            self.drift.add(entry.namespace, entry.id, entry.drift)

    def _refused_polls(self, ctx: RequestContext) -> Reply | None:
        """``processing`` for a request made only of polls of tasks an ``error`` fault refused with
        ``pollsProcessing`` (None for any other request): what a user saw live after
        insufficientCredits. Each answer is journalled as an application of that fault."""
        if not self.refused or not ctx.tasks:
            return None
        namespace = ctx.claimed_key or ""
        refusals = [self.refused.refused_by(namespace, task.get("taskUUID"))
                    if isinstance(task, dict) and task.get("taskType") == TaskType.GET_RESPONSE else None
                    for task in ctx.tasks]
        if not all(refusals):
            return None
        for task, fault in zip(ctx.tasks, refusals):
            ctx.faults.append(fault.record(taskUUID=task["taskUUID"], answered="processing"))
        return Reply.of([processing_item(task["taskUUID"]) for task in ctx.tasks], [])

    def _request_faults(self, ctx: RequestContext, selection: Selection) -> tuple[Fault | None, Fault | None]:
        """(the delay, the response fault) a request gets: the first matching of each kind."""
        namespace, tasks = ctx.claimed_key, ctx.tasks or []
        candidates = [*self.faults.active(namespace), *selection.faults]
        starts_with_auth = bool(tasks) and is_authentication(tasks[0])
        delay = next((f for f in candidates if f.action is FaultAction.DELAY
                      and f.matches(namespace, ctx.transport, tasks)), None)
        response = next((f for f in candidates if f.action in RESPONSE_ACTIONS
                         and not (f.action.transport is Transport.WS and starts_with_auth)  # no session to drop yet
                         and f.matches(namespace, ctx.transport, tasks)), None)
        return delay, response

    # -- namespace-wide operations -------------------------------------------------------------------

    async def reset(self, namespace: str | None = None) -> dict[str, int]:
        """Forget one namespace's state (everything when None), in every store; how many of each.
        A wait on a task forgotten so answers at once (its job never finishes now)."""
        counts = {name: store.reset(namespace) for name, store in self.stores.items()}
        await self.waits.wake()
        return counts

    async def advance_clock(self, seconds: float) -> float:
        """Move server time; time-based policies settle and expired media go, before this returns."""
        self.clock.advance(seconds)
        self.jobs.tick()
        await self.media.sweep()
        return self.clock.now()

    def stats(self) -> dict[str, Any]:
        return {**self.journal.stats(), "faults": len(self.faults.listed()), "clockOffset": self.clock.offset,
                "taskWaits": self.waits.waiting, **self.drift.stats()}

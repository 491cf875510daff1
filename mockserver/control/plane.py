"""``ControlPlane``: the control components of one server, and the decisions that span them.

Which faults a request or a job gets (installed faults first, in creation order, then the
request's scenarios), what a job-submission changes on the job, and what a reset or a clock
advance touches. The transports and the dispatcher wrapper call in here; the ``/__mock/`` routes
expose it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from mockserver.clock import ManualClock
from mockserver.control.exchange import CURRENT
from mockserver.control.faults import DELAY, OUTCOME_ACTIONS, RESPONSE_ACTIONS, WS_ONLY, Fault, FaultBook
from mockserver.control.journal import Journal
from mockserver.control.scenarios import ScenarioCatalogue, Selection
from mockserver.control.task_index import TaskIndex
from mockserver.control.virtual_clock import AdvanceableClock
from mockserver.delivery import DeliveryEngine
from mockserver.jobs import TASK_TYPE, Job, JobStore
from mockserver.media import MediaStore
from mockserver.uploads import UploadStore
from mockserver.ws_hub import WebSocketHub


class ControlPlane:
    def __init__(self, clock: AdvanceableClock, jobs: JobStore, uploads: UploadStore, media: MediaStore, *,
                 journal_size: int, control_token: str | None, seed: int | None) -> None:
        self.clock = clock
        self.jobs = jobs
        self.uploads = uploads
        self.media = media
        self.control_token = control_token
        self.default_policy = jobs.policies.default  # what PUT /__mock/progression {"policy": null} restores
        self.default_results = jobs.results.default  # what {"results": null} restores
        self.frozen_clock = isinstance(clock.base, ManualClock)  # --virtual-clock: only advance moves time
        self.journal = Journal(journal_size)
        self.faults = FaultBook()
        self.scenarios = ScenarioCatalogue()
        self.tasks = TaskIndex(jobs)
        self.rng = random.Random(seed)  # delay samples: reproducible under --seed
        self.ws_hub: WebSocketHub | None = None  # attached once the WebSocket transport exists
        self.delivery: DeliveryEngine | None = None
        jobs.on_job_submitted.append(self.on_job_submitted)

    # -- faults -----------------------------------------------------------------------------------

    def request_faults(self, namespace: str | None, transport: str, tasks: list,
                       selection: Selection) -> tuple[Fault | None, Fault | None]:
        """(the delay, the response fault) a request gets: the first matching of each kind."""
        candidates = [*self.faults.active(namespace), *selection.faults]
        starts_with_auth = bool(tasks) and isinstance(tasks[0], Mapping) and tasks[0].get("taskType") == "authentication"
        delay = next((f for f in candidates if f.action == DELAY and f.matches(namespace, transport, tasks)), None)
        response = next((f for f in candidates if f.action in RESPONSE_ACTIONS
                         and not (f.action in WS_ONLY and starts_with_auth)  # no session to drop yet
                         and f.matches(namespace, transport, tasks)), None)
        return delay, response

    def armed(self, scenario_names: tuple[str, ...]) -> bool:
        """Whether any fault is installed or a scenario is in force: when not (the usual case),
        requests and jobs skip fault and scenario matching altogether."""
        return bool(self.faults) or bool(scenario_names)

    def on_job_submitted(self, job: Job) -> None:
        """Index the job and give it what the request's scenarios and outcome faults ask for."""
        self.tasks.add(job)
        exchange = CURRENT.get()
        if not self.armed(exchange.scenario_names if exchange else ()):
            return
        transport = exchange.entry.transport if exchange else None
        selection = self.scenarios.select(exchange.scenario_names if exchange else (), job.namespace)
        if selection.policy is not None:
            self.jobs.policies.set_task(job.namespace, job.task_uuid, selection.policy)
        if selection.results is not None:
            self.jobs.results.set_task(job.namespace, job.task_uuid, selection.results)
        task = [{"taskType": TASK_TYPE, "taskUUID": job.task_uuid}]
        candidates = [*self.faults.active(job.namespace), *selection.faults]
        for action in OUTCOME_ACTIONS:
            fault = next((f for f in candidates if f.action == action and f.matches(job.namespace, transport, task)), None)
            if fault is None or (action == "webhook" and self.delivery is None):
                continue
            fault.consume(fault.budget_key(task))
            self._apply_outcome(fault, job)
            if exchange is not None:
                exchange.entry.faults.append(fault.record(taskUUID=job.task_uuid))

    def _apply_outcome(self, fault: Fault, job: Job) -> None:
        if fault.action == "taskError":
            job.injected_error = fault.task_error(job.task_uuid)
        elif fault.action == "nsfw":
            job.result_overrides["NSFWContent"] = True
        else:
            params = fault.params
            self.delivery.set_behaviour(job.namespace, job.task_uuid, delay=params.get("delayMs", 0) / 1000,
                                        duplicate=params.get("duplicate", False), reorder=params.get("reorder", False))

    # -- namespace-wide operations -------------------------------------------------------------------

    def reset(self, namespace: str | None = None) -> dict[str, Any]:
        """Forget one namespace's state (everything when None): jobs, uploads, policies, journal,
        faults, scenario budgets, deliveries."""
        if self.delivery is not None:
            namespaces = ({namespace} if namespace is not None
                          else {record.namespace for record in self.delivery.records()} | self.tasks.namespaces())
            for ns in namespaces:
                self.delivery.reset(ns)
        self.jobs.reset(namespace)
        uploads = self.uploads.forget(namespace)
        self.tasks.reset(namespace)
        self.scenarios.reset(namespace)
        return {"journalEntries": self.journal.reset(namespace), "faults": self.faults.reset(namespace),
                "uploads": uploads}

    async def advance_clock(self, seconds: float) -> float:
        """Move server time; time-based policies settle and expired media go, before this returns."""
        self.clock.advance(seconds)
        self.jobs.tick()
        await self.media.sweep()
        return self.clock.now()

    def stats(self) -> dict:
        return {**self.journal.stats(), "faults": len(self.faults.listed()), "clockOffset": self.clock.offset}

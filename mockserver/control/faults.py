"""Faults: what a test asks the mock to do wrong, to whom, and how many times.

A fault is an action (answer 429, wait, reset the connection, fail the task...) plus a match
(namespace, taskType, taskUUID, transport) plus a budget (``times``: once by default, N, or
unlimited). *Request* faults act around the backend (``observers.py``): a delay, or a response
fault that answers instead of the backend or asks the transport to break the reply. *Outcome*
faults pick the per-task settings of a job a request submits: its outcome, its webhooks'
behaviour. What a fault description may hold is the ``FaultSpec`` schema (``bodies.py``).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.contract.errors import LIVE_ERRORS, TRANSIENT_STATUSES, RunwareError
from mockserver.contract.vocabulary import FaultAction, Transport
from mockserver.core.namespaces import forget

DEFAULT_RETRY_AFTER = 1  # seconds, for a 429 that does not say
MAX_DELAY_MS = 300_000

RESPONSE_ACTIONS = frozenset(action for action in FaultAction
                             if action in (FaultAction.STATUS, FaultAction.ERROR) or action.transport is not None)
OUTCOME_ACTIONS = (FaultAction.TASK_ERROR, FaultAction.NSFW, FaultAction.WEBHOOK, FaultAction.INEXACT_MEDIA)


@dataclass
class Fault:
    action: FaultAction
    params: dict[str, Any]  # the action's settings, as given (validated)
    namespace: str | None = None  # None: every namespace (created without an API key)
    task_type: str | None = None
    task_uuid: str | None = None
    transport: Transport | None = None
    input: str | None = None  # some task of the request carries inputs.<input> (frameImages...)
    times: int | None = 1  # None: unlimited
    per_task: bool = False  # count ``times`` per taskUUID instead of in total
    source: str = "control"  # "control", or "scenario:<name>"
    id: str = ""
    _uses: dict[str | None, int] = field(default_factory=dict, repr=False)

    @property
    def applied(self) -> int:
        return sum(self._uses.values())

    def matches(self, namespace: str | None, transport: str | None, tasks: Iterable[Any]) -> bool:
        """Does this fault concern a request (or job) of ``namespace`` with these tasks?"""
        if self.namespace is not None and namespace != self.namespace:
            return False
        if self.transport is not None and transport != self.transport:
            return False
        tasks = [task for task in tasks if isinstance(task, Mapping)]
        if self.task_type is not None and not any(task.get("taskType") == self.task_type for task in tasks):
            return False
        if self.task_uuid is not None and not any(task.get("taskUUID") == self.task_uuid for task in tasks):
            return False
        if self.input is not None and not any(isinstance(task.get("inputs"), Mapping) and self.input in task["inputs"]
                                              for task in tasks):
            return False
        return self.has_budget(self.budget_key(tasks))

    def budget_key(self, tasks: Iterable[Any]) -> str | None:
        """What ``times`` counts: the taskUUID of the (first matching) task when ``per_task``."""
        if not self.per_task:
            return None
        for task in tasks:
            if isinstance(task, Mapping) and (self.task_type is None or task.get("taskType") == self.task_type):
                uuid = task.get("taskUUID")
                return uuid if isinstance(uuid, str) else None
        return None

    def has_budget(self, key: str | None) -> bool:
        return self.times is None or self._uses.get(key, 0) < self.times

    def consume(self, key: str | None) -> None:
        self._uses[key] = self._uses.get(key, 0) + 1

    def record(self, **applied: Any) -> dict[str, Any]:
        """How the journal shows one application of this fault."""
        return {"id": self.id, "action": self.action, "source": self.source, **self.params, **applied}

    def to_json(self) -> dict[str, Any]:
        match = {"taskType": self.task_type, "taskUUID": self.task_uuid, "transport": self.transport,
                 "input": self.input}
        return {"id": self.id, "action": self.action, **self.params,
                "match": {k: v for k, v in match.items() if v is not None},
                "namespace": self.namespace, "times": "unlimited" if self.times is None else self.times,
                "perTask": self.per_task, "applied": self.applied,
                "remaining": None if self.times is None or self.per_task else max(self.times - self.applied, 0),
                "source": self.source}

    # -- effects ----------------------------------------------------------------------------------

    def error(self, task: Any = None) -> RunwareError:
        """The Runware error a ``status`` or ``error`` fault answers with, scoped to the request's
        first task: a gateway's status with its error, or a live code with its live parameter and
        the catalogue's status."""
        if self.action is FaultAction.ERROR:
            code = self.params["code"]
            message, parameter = LIVE_ERRORS[code]
            return RunwareError(code, self.params.get("message") or message, parameter=parameter).for_task(task)
        status = self.params["status"]
        code, message = TRANSIENT_STATUSES[status]
        return RunwareError(self.params.get("code") or code, self.params.get("message") or message,
                            http_status=status).for_task(task)

    def sample_delay_ms(self, rng: random.Random) -> float:
        params = self.params
        if "ms" in params:
            value = params["ms"]
        elif "minMs" in params:
            value = rng.uniform(params["minMs"], params["maxMs"])  # either order: uniform takes both
        else:
            value = params["medianMs"] * math.exp(rng.gauss(0.0, params["sigma"]))
        return min(float(value), MAX_DELAY_MS)


class FaultBook:
    """The faults installed through the control API, in creation order."""

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._faults)

    def add(self, fault: Fault) -> Fault:
        fault.id = f"fault-{next(self._ids)}"
        self._faults[fault.id] = fault
        return fault

    def listed(self, namespace: str | None = None) -> list[Fault]:
        """A namespace's own faults (all faults when None)."""
        return [f for f in self._faults.values() if namespace is None or f.namespace == namespace]

    def active(self, namespace: str | None) -> list[Fault]:
        """Faults that may apply to a request of ``namespace``: its own and the global ones."""
        return [f for f in self._faults.values() if f.namespace is None or f.namespace == namespace]

    def remove(self, fault_id: str, namespace: str | None = None) -> bool:
        fault = self._faults.get(fault_id)
        if fault is None or (namespace is not None and fault.namespace != namespace):
            return False
        del self._faults[fault_id]
        return True

    def reset(self, namespace: str | None = None) -> int:
        """Forget a namespace's own faults (all when None); returns how many."""
        return len(forget(self._faults, namespace, lambda _, fault: fault.namespace))


def parse_fault(spec: Any, namespace: str | None, *, source: str = "control") -> Fault:
    """A ``Fault`` from its JSON description, already checked against the ``FaultSpec`` schema
    (``POST /__mock/faults``, a scenario's data)."""
    action = FaultAction(spec["action"])
    params = {key: value for key, value in spec.items() if key not in ("action", "match", "times", "perTask")}
    if action is FaultAction.STATUS and params["status"] == 429:
        params.setdefault("retryAfter", DEFAULT_RETRY_AFTER)
    if action.transport is Transport.REST:
        params.setdefault("processed", False)
    if action is FaultAction.TASK_ERROR:
        params.setdefault("code", "providerError")
    match = spec.get("match", {})
    transport = match.get("transport") or action.transport
    times = spec.get("times", 1)
    return Fault(action, params, namespace, match.get("taskType"), match.get("taskUUID"),
                 Transport(transport) if transport else None, match.get("input"),
                 None if times == "unlimited" else times, spec.get("perTask", False), source)

"""Faults: what a test asks the mock to do wrong, to whom, and how many times.

A fault is an action (answer 429, wait, reset the connection, fail the task...) plus a match
(namespace, taskType, taskUUID, transport) plus a budget (``times``: once by default, N, or
unlimited). The control plane applies faults around the dispatcher, never inside task handlers:
*request* faults before or instead of the reply, *outcome* faults on the job a request submits.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.errors import RunwareError, kind_of

# status -> the Runware error code its body carries
STATUS_CODES = {429: "rateLimitExceeded", 500: "internalServerError", 502: "badGateway",
                503: "serviceUnavailable", 504: "gatewayTimeout"}
DEFAULT_RETRY_AFTER = 1  # seconds, for a 429 that does not say
STATUS_MESSAGES = {
    429: "Too many requests. Retry after the number of seconds in the Retry-After header.",
    500: "Internal server error.",
    502: "Bad gateway: the upstream service failed.",
    503: "The service is temporarily unavailable. Please retry.",
    504: "Gateway timeout: the upstream service did not answer in time.",
}
TASK_ERROR_MESSAGES = {
    "timeoutProvider": "The provider did not answer in time.",
    "providerError": "The provider failed to generate the video.",
}
MAX_DELAY_MS = 300_000

# Which transport an action can only happen on.
REST_ONLY = ("reset", "malformed", "truncated")
WS_ONLY = ("close1011", "abort")
DELAY = "delay"
RESPONSE_ACTIONS = ("status", *REST_ONLY, *WS_ONLY)  # replace (or cut) the reply; one per request
OUTCOME_ACTIONS = ("taskError", "nsfw", "webhook")  # change the videoInference job a request submits
ACTIONS = (DELAY, *RESPONSE_ACTIONS, *OUTCOME_ACTIONS)
TRANSPORTS = ("rest", "ws")


class FaultSpecError(ValueError):
    """A fault description the control API cannot accept; the message says why."""


@dataclass
class Fault:
    action: str
    params: dict[str, Any]  # the action's settings, as given (validated)
    namespace: str | None = None  # None: every namespace (created without an API key)
    task_type: str | None = None
    task_uuid: str | None = None
    transport: str | None = None
    times: int | None = 1  # None: unlimited
    per_task: bool = False  # count ``times`` per taskUUID instead of in total
    source: str = "control"  # "control", or "scenario:<name>"
    id: str = ""
    _uses: dict[str | None, int] = field(default_factory=dict, repr=False)

    @property
    def applied(self) -> int:
        return sum(self._uses.values())

    def matches(self, namespace: str | None, transport: str, tasks: Iterable[Any]) -> bool:
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
        match = {"taskType": self.task_type, "taskUUID": self.task_uuid, "transport": self.transport}
        return {"id": self.id, "action": self.action, **self.params,
                "match": {k: v for k, v in match.items() if v is not None},
                "namespace": self.namespace, "times": "unlimited" if self.times is None else self.times,
                "perTask": self.per_task, "applied": self.applied,
                "remaining": None if self.times is None or self.per_task else max(self.times - self.applied, 0),
                "source": self.source}

    # -- effects ----------------------------------------------------------------------------------

    def error(self, task: Any = None) -> RunwareError:
        """The Runware error a ``status`` fault answers with, scoped to the request's first task."""
        status = self.params["status"]
        code = self.params.get("code") or STATUS_CODES[status]
        message = self.params.get("message") or STATUS_MESSAGES[status]
        return RunwareError(code, message, http_status=status).for_task(task)

    def task_error(self, task_uuid: str) -> RunwareError:
        code = self.params.get("code", "providerError")
        message = self.params.get("message") or TASK_ERROR_MESSAGES.get(code, "The task failed.")
        return RunwareError(code, message, task_type="videoInference", task_uuid=task_uuid)

    def sample_delay_ms(self, rng: random.Random) -> float:
        params = self.params
        if "ms" in params:
            value = params["ms"]
        elif "minMs" in params:
            value = rng.uniform(params["minMs"], params["maxMs"])
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
        doomed = [f.id for f in self.listed(namespace)]
        for fault_id in doomed:
            del self._faults[fault_id]
        return len(doomed)


def parse_fault(spec: Any, namespace: str | None, *, source: str = "control") -> Fault:
    """A ``Fault`` from its JSON description (``POST /__mock/faults`` or a scenario's data)."""
    if not isinstance(spec, Mapping):
        raise FaultSpecError("a fault is a JSON object")
    unknown = set(spec) - {"action", "match", "times", "perTask"} - _PARAMS.get(spec.get("action"), set())
    action = spec.get("action")
    if action not in ACTIONS:
        raise FaultSpecError(f"action must be one of {', '.join(ACTIONS)}")
    if unknown:
        raise FaultSpecError(f"unknown field(s) for action {action}: {', '.join(sorted(unknown))}")
    match = spec.get("match", {})
    if not isinstance(match, Mapping) or set(match) - {"taskType", "taskUUID", "transport"}:
        raise FaultSpecError("match is an object with taskType, taskUUID and/or transport")
    for key in ("taskType", "taskUUID"):
        if not isinstance(match.get(key, ""), str):
            raise FaultSpecError(f"match.{key} must be a string")
    transport = match.get("transport") or _transport_of(action)
    if transport not in (None, *TRANSPORTS):
        raise FaultSpecError(f"match.transport must be one of {', '.join(TRANSPORTS)}")
    if transport and _transport_of(action) not in (None, transport):
        raise FaultSpecError(f"action {action} only exists on the {_transport_of(action)} transport")
    per_task = spec.get("perTask", False)
    if not isinstance(per_task, bool):
        raise FaultSpecError("perTask must be true or false")
    return Fault(action, _check_params(action, spec), namespace, match.get("taskType"), match.get("taskUUID"),
                 transport, _times(spec.get("times", 1)), per_task, source)


_PARAMS: dict[str, set[str]] = {
    "status": {"status", "retryAfter", "code", "message"},
    "delay": {"ms", "minMs", "maxMs", "medianMs", "sigma"},
    "reset": {"processed"}, "malformed": {"processed"}, "truncated": {"processed"},
    "close1011": set(), "abort": set(),
    "taskError": {"code", "message"},
    "nsfw": set(),
    "webhook": {"delayMs", "duplicate", "reorder"},
}


def _transport_of(action: str) -> str | None:
    return "rest" if action in REST_ONLY else "ws" if action in WS_ONLY else None


def _times(value: Any) -> int | None:
    if value in (None, "unlimited"):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FaultSpecError('times must be a positive integer or "unlimited"')
    return value


def _check_params(action: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    params = {key: spec[key] for key in _PARAMS[action] if key in spec}
    if action == "status":
        if params.get("status") not in STATUS_CODES:
            raise FaultSpecError(f"status must be one of {', '.join(map(str, STATUS_CODES))}")
        if params["status"] == 429:
            params.setdefault("retryAfter", DEFAULT_RETRY_AFTER)
        if "retryAfter" in params and not _number(params["retryAfter"], 0, 86_400, integer=True):
            raise FaultSpecError("retryAfter is a whole number of seconds (0..86400)")
        _check_code(params, "code")
    elif action == "delay":
        given = {key for key in ("ms", "minMs", "medianMs") if key in params}
        if len(given) != 1 or ("minMs" in params) != ("maxMs" in params) or ("medianMs" in params) != ("sigma" in params):
            raise FaultSpecError("a delay is one of {ms}, {minMs, maxMs} or {medianMs, sigma}")
        if not all(_number(params[key], 0, MAX_DELAY_MS) for key in params if key.endswith("Ms")):
            raise FaultSpecError(f"delays are milliseconds within 0..{MAX_DELAY_MS}")
        if "minMs" in params and params["minMs"] > params["maxMs"]:
            raise FaultSpecError("minMs must not exceed maxMs")
        if "sigma" in params and not _number(params["sigma"], 0, 10):
            raise FaultSpecError("sigma must be within 0..10")
    elif action in ("reset", "malformed", "truncated"):
        if not isinstance(params.setdefault("processed", False), bool):
            raise FaultSpecError("processed must be true or false")
    elif action == "taskError":
        params.setdefault("code", "providerError")
        _check_code(params, "code")
    elif action == "webhook":
        if not params:
            raise FaultSpecError("a webhook fault sets delayMs, duplicate and/or reorder")
        if "delayMs" in params and not _number(params["delayMs"], 0, MAX_DELAY_MS):
            raise FaultSpecError(f"delayMs must be within 0..{MAX_DELAY_MS}")
        if not all(isinstance(params.get(key, False), bool) for key in ("duplicate", "reorder")):
            raise FaultSpecError("duplicate and reorder are true or false")
    if not isinstance(params.get("message", ""), str):
        raise FaultSpecError("message must be a string")
    return params


def _check_code(params: dict[str, Any], key: str) -> None:
    if key not in params:
        return
    try:
        kind_of(params[key])
    except (KeyError, TypeError, AttributeError):
        raise FaultSpecError(f"{key} must be an error code of the catalogue (docs/errors.md)") from None


def _number(value: Any, low: float, high: float, *, integer: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        return False
    return low <= value <= high

"""Server behaviour as data, hypothesis strategies over it, and the driver that makes the mock
behave that way through its control API.

A ``Behaviour`` is what one task meets: refusals of its submit and of its polls (429 with
Retry-After, 5xx), how many polls answer ``processing``, how it ends (success with N videos, or a
task error, of the whole task or of some generations only), whether its N videos arrive in one
reply or in separate polls (staggered release:
each reply re-sends the results released so far), late or doubled or reordered webhooks, a
dropped WebSocket, slow replies. Because it
is plain data, hypothesis can generate it and shrink a failing one to the smallest behaviour
that still breaks a client.

Refusals come first within each phase (the submit's before its ack, the polls' before the
``processing`` replies): faults of one task fire in the order they were installed.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from conformance.client import Namespace
from mockserver.errors import TRANSIENT_STATUSES as STATUS_ERRORS
from mockserver.jobs import TASK_ERROR_MESSAGES
from mockserver.protocol import SCENARIO_HEADER as HEADER
from mockserver.vocabulary import DropKind, FaultAction, JobStatus, ResultRelease

SUCCESS = JobStatus.SUCCESS.value
TRANSIENT_STATUSES = tuple(sorted(STATUS_ERRORS))  # what the fault engine can answer: 429 and 5xx
TASK_ERRORS = tuple(TASK_ERROR_MESSAGES)  # the task outcomes it can inject
WS_DROPS = tuple(DropKind)


@dataclass(frozen=True)
class Refusal:
    """One request answered with ``status`` instead of being served."""

    status: int
    retry_after: int | None = None  # seconds, only with 429


@dataclass(frozen=True)
class WebhookTrouble:
    delay_ms: int = 0
    duplicate: bool = False
    reorder: bool = False


@dataclass(frozen=True)
class Behaviour:
    submit_refusals: tuple[Refusal, ...] = ()
    poll_refusals: tuple[Refusal, ...] = ()
    processing_polls: int = 0
    outcome: str = SUCCESS  # or a task error code (timeoutProvider, providerError)
    failed_generations: tuple[int, ...] = ()  # with an error outcome: only these fail (0-based), the others deliver
    number_results: int = 1
    staggered: bool = False  # results arrive in separate polls, each reply cumulative (release mode staggered)
    webhook: WebhookTrouble | None = None
    ws_drop: str | None = None  # close1011 | abort, right after the WebSocket submit is accepted
    reply_delay_ms: int = 0  # every reply of the task waits this long
    scenario: str | None = None  # sent by the client as X-Vidmock-Scenario

    @property
    def fails(self) -> bool:
        """Whether the task meets its error outcome: always when the error is the whole task's, else
        when one of the failed generations exists (indices past numberResults never apply)."""
        return self.outcome != SUCCESS and (not self.failed_generations
                                            or min(self.failed_generations) < self.number_results)


def refusals(max_size: int = 2, retry_after: int = 0) -> st.SearchStrategy[tuple[Refusal, ...]]:
    """Transient refusals; 429s carry ``retry_after`` (0 keeps generated runs fast)."""
    refusal = st.sampled_from(TRANSIENT_STATUSES).map(
        lambda status: Refusal(status, retry_after if status == 429 else None))
    return st.lists(refusal, max_size=max_size).map(tuple)


def behaviours(*, max_refusals: int = 2, max_processing: int = 3, max_results: int = 1,
               staggered: bool = False, webhooks: bool = False, ws: bool = False, max_delay_ms: int = 0,
               scenarios: tuple[str, ...] = (), per_generation: bool = False) -> st.SearchStrategy[Behaviour]:
    """Behaviours within the given bounds; everything off by default shrinks toward "all is well".
    ``staggered`` lets results arrive in separate polls (it matters with ``max_results`` > 1);
    ``per_generation`` lets an error outcome fail only some generations."""
    return st.builds(
        Behaviour,
        submit_refusals=refusals(max_refusals),
        poll_refusals=refusals(max_refusals),
        processing_polls=st.integers(0, max_processing),
        outcome=st.sampled_from((SUCCESS, *TASK_ERRORS)),
        failed_generations=st.lists(st.integers(0, max_results - 1), min_size=1, max_size=max_results, unique=True)
        .map(lambda found: tuple(sorted(found))) | st.just(()) if per_generation else st.just(()),
        number_results=st.integers(1, max_results),
        staggered=st.booleans() if staggered else st.just(False),
        webhook=st.none() | st.builds(WebhookTrouble, st.integers(0, 500), st.booleans(), st.booleans())
        if webhooks else st.none(),
        ws_drop=st.none() | st.sampled_from(WS_DROPS) if ws else st.none(),
        reply_delay_ms=st.integers(0, max_delay_ms),
        scenario=st.none() | st.sampled_from(scenarios) if scenarios else st.none(),
    )


# --- the driver ----------------------------------------------------------------------------------


def _refusal_fault(refusal: Refusal, task_type: str, task_uuid: str) -> dict:
    fault = {"action": FaultAction.STATUS, "status": refusal.status, "match": {"taskType": task_type, "taskUUID": task_uuid}}
    if refusal.retry_after is not None:
        fault["retryAfter"] = refusal.retry_after
    return fault


def fault_specs(behaviour: Behaviour, task_uuid: str) -> list[dict]:
    """The ``POST /__mock/faults`` bodies that make the mock behave so for one task, in order."""
    match = {"taskUUID": task_uuid}
    specs = [_refusal_fault(r, "videoInference", task_uuid) for r in behaviour.submit_refusals]
    specs += [_refusal_fault(r, "getResponse", task_uuid) for r in behaviour.poll_refusals]
    if behaviour.outcome != SUCCESS:
        generations = {"generations": list(behaviour.failed_generations)} if behaviour.failed_generations else {}
        specs.append({"action": FaultAction.TASK_ERROR, "code": behaviour.outcome, "match": match, **generations})
    if behaviour.webhook:
        trouble = behaviour.webhook
        specs.append({"action": FaultAction.WEBHOOK, "delayMs": trouble.delay_ms, "duplicate": trouble.duplicate,
                      "reorder": trouble.reorder, "match": match})
    if behaviour.ws_drop:
        specs.append({"action": behaviour.ws_drop, "match": {"taskType": "videoInference", **match}})
    if behaviour.reply_delay_ms:
        specs.append({"action": FaultAction.DELAY, "ms": behaviour.reply_delay_ms, "times": "unlimited", "match": match})
    return specs


def apply(behaviour: Behaviour, namespace: Namespace, task_uuid: str) -> dict[str, str]:
    """Install a behaviour for a task that is about to be submitted (the client must send
    ``numberResults: behaviour.number_results``); returns the headers the client must send (the
    scenario, if any)."""
    namespace.call("PUT", f"/__mock/tasks/{task_uuid}/progression",
                   {"policy": f"polls:{behaviour.processing_polls}",
                    "results": ResultRelease.STAGGERED if behaviour.staggered else ResultRelease.TOGETHER})
    for spec in fault_specs(behaviour, task_uuid):
        namespace.call("POST", "/__mock/faults", spec)
    return {HEADER: behaviour.scenario} if behaviour.scenario else {}

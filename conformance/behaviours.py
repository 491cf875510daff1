"""Server behaviour as data, hypothesis strategies over it, and the driver that makes the mock
behave that way through its control API.

A ``Behaviour`` is what a task meets: refusals of its submit and of its polls (429 with
Retry-After, 5xx, a dropped connection or WebSocket), how it progresses (``processing`` for K
polls), how it ends (success, a task error of the whole task or of some generations only, results flagged
NSFW), whether its N videos arrive in
one reply or in separate polls (staggered release: each reply re-sends the results released so
far), late or doubled or reordered webhooks, slow replies, videos a few pixels and frames off the
request (as live ones were), named scenarios. Because it is plain
data, hypothesis can generate it and shrink a failing one to the smallest behaviour that still
breaks a client, and it prints as JSON that ``vidmock check --behaviour`` takes back.

It is applied in one of two ways:

- ``apply(behaviour, namespace, task_uuid)``: to one task about to be submitted (tests that know
  their taskUUIDs);
- ``apply_to_key(behaviour, namespace, catalogue)``: to every task of an API key, before the
  client starts (``vidmock check``, which knows nothing of the client's taskUUIDs). Refusals then
  count per task: the first attempts of *each* task meet them.

Refusals come first within each phase (the submit's before its ack, the polls' before the
``processing`` replies): faults of one task fire in the order they were installed.
Only the HTTP control API is used (docs/control.md), so a remote server works the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from hypothesis import strategies as st

from conformance.client import Namespace
from mockserver.contract.errors import TRANSIENT_STATUSES as STATUS_ERRORS
from mockserver.contract.protocol import SCENARIO_HEADER
from mockserver.contract.vocabulary import DropKind, FaultAction, JobStatus, ReplyBreak, ResultRelease, TaskType
from mockserver.jobs.store import TASK_ERROR_MESSAGES

SUCCESS = JobStatus.SUCCESS.value
NSFW = FaultAction.NSFW.value  # the task succeeds, but its results carry NSFWContent: true
TRANSIENT_STATUSES = tuple(sorted(STATUS_ERRORS))  # what a `status` fault can answer (docs/control.md)
TASK_ERRORS = tuple(TASK_ERROR_MESSAGES)  # task outcomes a `taskError` fault injects
ERROR_OUTCOMES = (*TASK_ERRORS, NSFW)  # ends without a usable video
REST_DROPS = (ReplyBreak.RESET.value, "reset-processed")  # the connection is reset before / after the request ran
WS_DROPS = tuple(drop.value for drop in DropKind)  # the socket is closed 1011 / aborted after the request ran
DROPS = (*REST_DROPS, *WS_DROPS)
RETRY_AFTER = 1  # seconds a 429 asks for unless said otherwise (the fault engine's default)
IMMEDIATE = "immediate"
STAGGERED, TOGETHER = ResultRelease.STAGGERED.value, ResultRelease.TOGETHER.value
SUBMIT, POLL = TaskType.VIDEO_INFERENCE, TaskType.GET_RESPONSE
# Live codes an `error` fault answers that no retry gets past: the task never runs, so the client
# must give up (exit non-zero); unknownErrorWhileReadingResults is transient, retried through.
FINAL_REFUSALS = ("insufficientCredits", "invalidValueUploadFailed")


@dataclass(frozen=True)
class Refusal:
    """One request answered with ``status`` instead of being served."""

    status: int
    retry_after: int | None = None  # seconds, only with 429


@dataclass(frozen=True)
class Drop:
    """One request whose connection is cut: ``reset`` (REST, before it ran), ``reset-processed``
    (REST, after it ran: the reply is lost), ``close1011`` or ``abort`` (WebSocket, after it ran;
    the reply waits for a session resume). A drop of the other transport never fires."""

    how: str


Trouble = Union[Refusal, Drop]


@dataclass(frozen=True)
class WebhookTrouble:
    delay_ms: int = 0
    duplicate: bool = False
    reorder: bool = False


@dataclass(frozen=True)
class Behaviour:
    submit_refusals: tuple[Trouble, ...] = ()
    poll_refusals: tuple[Trouble, ...] = ()
    progression: str = IMMEDIATE  # a policy: immediate | polls:N | seconds:T
    outcome: str = SUCCESS  # or a task error code (timeoutProvider, providerError), or nsfw
    failed_generations: tuple[int, ...] = ()  # with a task error: only these fail (0-based), the others deliver
    number_results: int = 1  # per task only: the client must send numberResults so
    staggered: bool = False  # results arrive in separate polls, each reply cumulative (release mode staggered)
    webhook: WebhookTrouble | None = None
    reply_delay_ms: int = 0  # every reply waits this long
    scenarios: tuple[str, ...] = ()  # named scenarios (GET /__mock/scenarios)
    inexact_media: bool = False  # videos a few pixels and frames off the request (the inexactMedia fault)

    @property
    def fails(self) -> bool:
        """Whether the task meets its error outcome: always when the error is the whole task's, else
        when one of the failed generations exists (indices past numberResults never apply)."""
        return self.outcome != SUCCESS and (not self.failed_generations
                                            or min(self.failed_generations) < self.number_results)


def polls(count: int) -> str:
    """The progression policy answering ``processing`` to ``count`` polls (0: immediate)."""
    return f"polls:{count}" if count else IMMEDIATE


# --- strategies ----------------------------------------------------------------------------------


def refusals(max_size: int = 2, retry_after: int = 0, drops: tuple[str, ...] = ()) -> st.SearchStrategy[tuple[Trouble, ...]]:
    """Transient refusals, statuses first so a failure shrinks toward a 429; 429s carry
    ``retry_after`` (0 keeps generated runs fast). ``drops`` adds those connection drops. One
    choice per refusal, so one refusal is never a bigger example than one scenario."""
    alphabet = [Refusal(status, retry_after if status == 429 else None) for status in TRANSIENT_STATUSES]
    return st.lists(st.sampled_from(alphabet + [Drop(how) for how in drops]), max_size=max_size).map(tuple)


def _scenarios(names: tuple[str, ...]) -> st.SearchStrategy[tuple[str, ...]]:
    """Up to two named scenarios (they compose). Drawn first and as long as a refusal, so a
    failure that a refusal alone explains shrinks to the refusal, not to a scenario holding it."""
    return st.lists(st.sampled_from(names), max_size=2, unique=True).map(tuple) if names else st.just(())


def behaviours(*, max_refusals: int = 2, max_processing: int = 3, max_results: int = 1,
               staggered: bool = False, webhooks: bool = False, ws: bool = False, max_delay_ms: int = 0,
               scenarios: tuple[str, ...] = (), per_generation: bool = False) -> st.SearchStrategy[Behaviour]:
    """Per-task behaviours within the given bounds; everything off by default shrinks toward "all
    is well". ``staggered`` lets results arrive in separate polls (it matters with ``max_results``
    > 1); ``ws`` adds dropped sockets to the refusals; ``per_generation`` lets a task error fail
    only some generations."""
    drops = WS_DROPS if ws else ()
    return st.builds(
        Behaviour,
        scenarios=_scenarios(scenarios),
        submit_refusals=refusals(max_refusals, drops=drops),
        poll_refusals=refusals(max_refusals, drops=drops),
        progression=st.integers(0, max_processing).map(polls),
        outcome=st.sampled_from((SUCCESS, *TASK_ERRORS)),
        failed_generations=st.lists(st.integers(0, max_results - 1), min_size=1, max_size=max_results, unique=True)
        .map(lambda found: tuple(sorted(found))) | st.just(()) if per_generation else st.just(()),
        number_results=st.integers(1, max_results),
        staggered=st.booleans() if staggered else st.just(False),
        webhook=_webhooks(st.integers(0, 500)) if webhooks else st.none(),
        reply_delay_ms=st.integers(0, max_delay_ms),
    )


# What `vidmock check --explore` varies, and within which bounds: wide enough to break a fragile
# client, small enough that a well-behaved one finishes a run in a few seconds.
OUTCOMES = {"success": (SUCCESS,), "errors": ERROR_OUTCOMES, "all": (SUCCESS, *ERROR_OUTCOMES)}
KEY_MAX_REFUSALS = 2
KEY_MAX_PROCESSING = 3
KEY_DELAYS_MS = (0, 250, 500)
KEY_WEBHOOK_DELAYS_MS = (0, 500, 2000)


def key_behaviours(outcomes: str = "success", scenarios: tuple[str, ...] = ()) -> st.SearchStrategy[Behaviour]:
    """Behaviours for every task of an API key (``apply_to_key``): refusals and drops of submits
    and polls, up to three processing polls, staggered results, webhook trouble, slow replies,
    inexact videos, up to two of ``scenarios``, and an outcome from ``OUTCOMES[outcomes]``. The client picks
    numberResults itself, so ``number_results`` stays 1.

    Fields are drawn from the most exotic to the plainest: hypothesis shrinks toward examples
    whose early draws are simplest, so a failure one submit refusal explains shrinks to that,
    not to a scenario or a poll refusal that happens to cause it too."""
    return st.builds(
        Behaviour,
        scenarios=_scenarios(scenarios),
        inexact_media=st.booleans(),
        webhook=_webhooks(st.sampled_from(KEY_WEBHOOK_DELAYS_MS)),
        reply_delay_ms=st.sampled_from(KEY_DELAYS_MS),
        staggered=st.booleans(),
        outcome=st.sampled_from(OUTCOMES[outcomes]),
        progression=st.integers(0, KEY_MAX_PROCESSING).map(polls),
        poll_refusals=refusals(KEY_MAX_REFUSALS, RETRY_AFTER, DROPS),
        submit_refusals=refusals(KEY_MAX_REFUSALS, RETRY_AFTER, DROPS),
    )


def _webhooks(delays: st.SearchStrategy[int]) -> st.SearchStrategy[WebhookTrouble | None]:
    return st.none() | st.builds(WebhookTrouble, delays, st.booleans(), st.booleans())


# --- the driver ----------------------------------------------------------------------------------


def _trouble_fault(trouble: Trouble, task_type: str, task_uuid: str | None) -> dict:
    """The fault for one refusal: of that task, or (no taskUUID) of the first attempt of each task
    that has not met it yet (``perTask``)."""
    if isinstance(trouble, Refusal):
        fault: dict[str, Any] = {"action": FaultAction.STATUS, "status": trouble.status}
        if trouble.retry_after is not None:
            fault["retryAfter"] = trouble.retry_after
    elif trouble.how in REST_DROPS:
        fault = {"action": FaultAction.RESET, "processed": trouble.how == "reset-processed"}
    else:
        fault = {"action": trouble.how}
    match = {"taskType": task_type, **({"taskUUID": task_uuid} if task_uuid else {})}
    return {**fault, "match": match, **({} if task_uuid else {"perTask": True})}


def fault_specs(behaviour: Behaviour, task_uuid: str | None = None) -> list[dict]:
    """The ``POST /__mock/faults`` bodies that make the mock behave so, in order: for one task, or
    (``task_uuid`` None) for every task of the key they are posted with."""
    scope = {"match": {"taskUUID": task_uuid}} if task_uuid else {"times": "unlimited"}
    specs = [_trouble_fault(r, SUBMIT, task_uuid) for r in behaviour.submit_refusals]
    specs += [_trouble_fault(r, POLL, task_uuid) for r in behaviour.poll_refusals]
    if behaviour.outcome == NSFW:
        specs.append({"action": FaultAction.NSFW, **scope})
    elif behaviour.outcome != SUCCESS:
        generations = {"generations": list(behaviour.failed_generations)} if behaviour.failed_generations else {}
        specs.append({"action": FaultAction.TASK_ERROR, "code": behaviour.outcome, **scope, **generations})
    if behaviour.webhook:
        trouble = behaviour.webhook
        specs.append({"action": FaultAction.WEBHOOK, "delayMs": trouble.delay_ms, "duplicate": trouble.duplicate,
                      "reorder": trouble.reorder, **scope})
    if behaviour.reply_delay_ms:
        specs.append({"action": FaultAction.DELAY, "ms": behaviour.reply_delay_ms, **scope, "times": "unlimited"})
    if behaviour.inexact_media:
        specs.append({"action": FaultAction.INEXACT_MEDIA, **scope})
    return specs


def _progression_body(behaviour: Behaviour) -> dict:
    return {"policy": behaviour.progression, "results": STAGGERED if behaviour.staggered else TOGETHER}


def apply(behaviour: Behaviour, namespace: Namespace, task_uuid: str) -> dict[str, str]:
    """Install a behaviour for a task that is about to be submitted (the client must send
    ``numberResults: behaviour.number_results``); returns the headers the client must send (the
    scenarios, if any)."""
    namespace.call("PUT", f"/__mock/tasks/{task_uuid}/progression", _progression_body(behaviour))
    for spec in fault_specs(behaviour, task_uuid):
        namespace.call("POST", "/__mock/faults", spec)
    return {SCENARIO_HEADER: ", ".join(behaviour.scenarios)} if behaviour.scenarios else {}


def apply_to_key(behaviour: Behaviour, namespace: Namespace, catalogue: dict[str, dict]) -> None:
    """Install a behaviour for every task of the namespace's key, before its client starts:
    progression and result release for the key, then the faults, then the scenarios' faults
    (``catalogue``: ``GET /__mock/scenarios`` by name)."""
    namespace.call("PUT", "/__mock/progression", _progression_body(behaviour))
    specs = fault_specs(behaviour)
    for name in behaviour.scenarios:
        specs += catalogue[name]["faults"]
        if results := catalogue[name].get("results"):  # staggered or generations: the scenario's release
            namespace.call("PUT", "/__mock/progression", {"results": results})
    for spec in specs:
        namespace.call("POST", "/__mock/faults", spec)


def scenario_catalogue(namespace: Namespace) -> dict[str, dict]:
    """The named scenarios that install faults or a result release, by name (the progression
    policies ``polls:N``... of the listing are ``Behaviour.progression`` instead)."""
    listing = namespace.call("GET", "/__mock/scenarios")["scenarios"]
    return {item["name"]: item for item in listing if item.get("faults") or item.get("results")}


def scenario_ends_in_error(definition: dict) -> bool:
    """Does a scenario (an item of ``GET /__mock/scenarios``) make whole tasks fail or flag them
    NSFW, or refuse every videoInference for good? A task error of some generations only still
    leaves the others' videos usable; a refusal of some tasks only (``match.input``) is
    ``scenario_may_end_in_error``."""
    return any(spec["action"] == FaultAction.NSFW
               or (spec["action"] == FaultAction.TASK_ERROR and not spec.get("generations"))
               or (_final_refusal(spec) and "input" not in spec.get("match", {}))
               for spec in definition["faults"])


def scenario_may_end_in_error(definition: dict) -> bool:
    """Can a scenario leave a task without a usable video: it always does, or it refuses for
    good the tasks of some kind (``upload-failed``: image-to-video tasks only)?"""
    return scenario_ends_in_error(definition) or any(_final_refusal(spec) for spec in definition["faults"])


def refused_for_good(entries: list[dict]) -> bool:
    """Did a journalled exchange (``GET /__mock/journal`` entries) meet a refusal no retry gets
    past: the client then has a task that will never give a video."""
    return any(_final_refusal(fault) and "answered" not in fault for entry in entries for fault in entry["faults"])


def _final_refusal(spec: dict) -> bool:
    return spec["action"] == FaultAction.ERROR and spec.get("code") in FINAL_REFUSALS


def ends_in_error(behaviour: Behaviour, catalogue: dict[str, dict]) -> bool:
    """Does no task of this behaviour end with a usable video (a task error, or NSFW results)?"""
    return behaviour.outcome != SUCCESS or any(scenario_ends_in_error(catalogue[name]) for name in behaviour.scenarios)

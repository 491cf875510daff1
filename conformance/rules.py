"""Client conformance rules, evaluated over what the mock recorded (journal and deliveries).

Each rule is one ``@rule(...)`` entry (id, one-line title, how to fix) on one small function that
yields ``Violation``s with evidence: journal entry ids, times and taskUUIDs. Adding a rule is one
decorated function plus its section in docs/conformance.md (a test checks both exist).

Rules read the JSON the control API serves (``GET /__mock/journal``, ``GET /__mock/deliveries``),
so they judge a client of a remote server the same way as one of an in-process server.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mockserver.contract import definition_regex
from mockserver.contract.protocol import SUBMITTED
from mockserver.contract.vocabulary import DropKind, ReplyBreak, TaskType, Transport

MIN_POLL_INTERVAL = 0.5  # seconds between two getResponse of one task
BACKOFF_AFTER_POLLS = 10  # beyond this many polls of one task ...
BACKOFF_INTERVAL = 2.0  # ... they must be at least this far apart
WEBHOOK_MAX_LATENCY_MS = 2000.0  # a receiver must answer a webhook 2xx within this
CLOCK_SLACK = 0.01  # seconds of timer jitter forgiven on every time bound
TASK_UUID_V4 = definition_regex("taskUUIDv4")  # the documents' form; the server accepts any version
VIDEO, POLL, AUTH = TaskType.VIDEO_INFERENCE, TaskType.GET_RESPONSE, TaskType.AUTHENTICATION


@dataclass(frozen=True)
class Traffic:
    """What one client did: journal entries (oldest first) and delivery records. ``api_key`` is
    the key the client was given, when known: entries of other namespaces (or none) are then the
    client's too, but only entries under that key show it reached the mock as told."""

    entries: list[dict]
    deliveries: list[dict] = field(default_factory=list)
    api_key: str | None = None

    def tasks(self, task_type: str) -> Iterator[tuple[dict, dict]]:
        """(entry, task) for every task of a type the client sent."""
        for entry in self.entries:
            for task in entry.get("tasks") or []:
                if isinstance(task, dict) and task.get("taskType") == task_type:
                    yield entry, task

    def acked(self) -> dict[str, dict]:
        """taskUUID -> the entry whose reply told the client its videoInference was accepted: an
        ack, or ``conflictTaskUUID`` on a retry (an earlier attempt got through). Replies the mock
        dropped on purpose (a reset connection, a closed socket) told the client nothing, and a dry
        run's answer is no ack (nothing started; the taskUUID stays free for the real run)."""
        return self._first(lambda entry, uuid: not _reply_dropped(entry) and _says_accepted(entry, uuid))

    def accepted(self) -> dict[str, dict]:
        """taskUUID -> the first entry by which the mock had the videoInference: as ``acked``, or
        a request that ran though its reply was dropped (the client may rightly poll it)."""
        return self._first(lambda entry, uuid: _says_accepted(entry, uuid) or (
            _reply_dropped(entry) and entry.get("valid") is not False
            and any(fault.get("processed") for fault in entry.get("faults") or [])))

    def _first(self, shows: Callable[[dict, str], bool]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for entry, task in self.tasks(VIDEO):
            if entry.get("dryRun"):
                continue
            uuid = task.get("taskUUID")
            if isinstance(uuid, str) and uuid not in found and shows(entry, uuid):
                found[uuid] = entry
        return found


def _says_accepted(entry: dict, uuid: str) -> bool:
    """The reply (sent, or kept for a WebSocket session resume) acks the task or calls it a conflict."""
    data, errors = reply_items(entry)
    return (any(item.get("taskUUID") == uuid for item in data)
            or any(item.get("taskUUID") == uuid and item.get("code") == "conflictTaskUUID" for item in errors))


DROPPED_REPLY = frozenset(ReplyBreak) | frozenset(DropKind)  # fault actions that cut the reply


def _reply_dropped(entry: dict) -> bool:
    return any(fault.get("action") in DROPPED_REPLY for fault in entry.get("faults") or [])


def reply_items(entry: dict) -> tuple[list[dict], list[dict]]:
    """(data items, error items) of the reply an entry got."""
    body = (entry.get("response") or {}).get("body")
    if not isinstance(body, dict):
        return [], []
    keep = lambda items: [item for item in items or [] if isinstance(item, dict)]  # noqa: E731
    return keep(body.get("data")), keep(body.get("errors"))


def is_terminal(entry: dict, task_uuid: str) -> bool:
    """Did this getResponse reply end the task: a success, or the task's own error?"""
    data, errors = reply_items(entry)
    if any(item.get("taskUUID") == task_uuid and item.get("status") == "success" for item in data):
        return True
    return any(item.get("taskUUID") == task_uuid and (item.get("status") == "error" or item.get("code") == "taskFailedOrNotFound")
               for item in errors)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    fix: str
    check: Callable[[Traffic], Iterable["Violation"]]

    @property
    def explain(self) -> str:
        """Where a user reads more: a command, so it works from an installed vidmock too."""
        return f"vidmock explain {self.id}"


@dataclass(frozen=True)
class Violation:
    rule: Rule
    message: str
    evidence: dict[str, Any]


RULES: dict[str, Rule] = {}


def rule(rule_id: str, title: str, fix: str) -> Callable:
    """Register a rule: ``check(traffic)`` yields ``(message, evidence)`` pairs."""
    def register(check: Callable[[Traffic], Iterable[tuple[str, dict]]]) -> Callable:
        def violations(traffic: Traffic) -> Iterator[Violation]:
            for message, evidence in check(traffic):
                yield Violation(RULES[rule_id], message, evidence)
        RULES[rule_id] = Rule(rule_id, title, fix, violations)
        return check
    return register


def evaluate(traffic: Traffic, rule_ids: Iterable[str] | None = None) -> dict[Rule, list[Violation]]:
    """Every selected rule (all by default) with its violations (an empty list: it passed)."""
    selected = list(rule_ids) if rule_ids else list(RULES)
    unknown = [rule_id for rule_id in selected if rule_id not in RULES]
    if unknown:
        raise KeyError(f"unknown rule(s) {', '.join(unknown)}; known: {', '.join(RULES)}")
    return {RULES[rule_id]: list(RULES[rule_id].check(traffic)) for rule_id in selected}


def _at(entry: dict) -> float:
    return entry["receivedWall"]


def _evidence(*entries: dict, **more: Any) -> dict[str, Any]:
    return {"entries": [entry["id"] for entry in entries], "times": [round(_at(entry), 3) for entry in entries], **more}


# --- the rules -----------------------------------------------------------------------------------


@rule("VM001", "Every request validates against the schema",
      "Build tasks from the contract (schemas/tasks/*.json, docs/errors.md); `vidmock validate FILE` shows every error.")
def requests_validate(traffic: Traffic):
    for entry in traffic.entries:
        if entry.get("rawBody") is not None:
            yield "The body was not a JSON array of tasks.", _evidence(entry, body=entry["rawBody"][:200])
        for found in [] if entry.get("dryRun") else entry.get("violations") or []:  # a dry run asks to be judged
            codes = [f"{e['code']} ({e.get('parameter')})" for e in found["errors"]]
            yield (f"Task {found['taskIndex']} ({found.get('taskType')}) broke {', '.join(codes)}.",
                   _evidence(entry, taskUUID=found.get("taskUUID"), errors=found["errors"]))


@rule("VM002", "taskUUIDs name one task only",
      "Draw a fresh uuid.uuid4() for every new task; reuse a taskUUID only to retry the very same task.")
def task_uuids_are_unique(traffic: Traffic):
    first_seen: dict[str, tuple[dict, str]] = {}
    for entry, task in _submitted(traffic):
        uuid = task.get("taskUUID")
        if not isinstance(uuid, str) or entry.get("dryRun"):  # a dry run uses no taskUUID
            continue
        content = _content(task)
        if uuid in first_seen and first_seen[uuid][1] != content:
            yield (f"taskUUID {uuid} was reused for a different task.",
                   _evidence(first_seen[uuid][0], entry, taskUUID=uuid))
        first_seen.setdefault(uuid, (entry, content))


def _submitted(traffic: Traffic) -> Iterator[tuple[dict, dict]]:
    for task_type in SUBMITTED:
        yield from traffic.tasks(task_type)


def _content(task: dict) -> str:
    return json.dumps({k: v for k, v in task.items() if k != "taskUUID"}, sort_keys=True)


@rule("VM003", "getResponse asks only for tasks the client submitted",
      "Poll with the taskUUID of a videoInference the API acknowledged, never an invented or foreign one.")
def polls_only_submitted_tasks(traffic: Traffic):
    acked = traffic.accepted()
    for entry, task in traffic.tasks(POLL):
        uuid = task.get("taskUUID")
        if uuid not in acked or acked[uuid]["id"] > entry["id"]:
            yield f"getResponse for {uuid}, which no acknowledged videoInference had.", _evidence(entry, taskUUID=uuid)


def _polls_by_task(traffic: Traffic) -> dict[str, list[dict]]:
    polls: dict[str, list[dict]] = defaultdict(list)
    for entry, task in traffic.tasks(POLL):
        if isinstance(task.get("taskUUID"), str):
            polls[task["taskUUID"]].append(entry)
    return polls


@rule("VM004", f"No busy polling: {MIN_POLL_INTERVAL:g} s between polls of a task, "
               f"{BACKOFF_INTERVAL:g} s after {BACKOFF_AFTER_POLLS} polls",
      "Sleep between polls and back off (e.g. 1 s, then x1.5 up to 10 s), as Runware's task-polling guide advises.")
def no_busy_polling(traffic: Traffic):
    for uuid, polls in _polls_by_task(traffic).items():
        for number, (before, after) in enumerate(zip(polls, polls[1:]), start=2):
            needed = BACKOFF_INTERVAL if number > BACKOFF_AFTER_POLLS else MIN_POLL_INTERVAL
            gap = _at(after) - _at(before)
            if gap + CLOCK_SLACK < needed:
                yield (f"Poll {number} of {uuid} came {gap * 1000:.0f} ms after the previous one "
                       f"(at least {needed * 1000:.0f} ms).", _evidence(before, after, taskUUID=uuid))
                break  # one finding per task is enough evidence


@rule("VM005", "Polling stops once a task succeeded or failed",
      "Stop polling a task after a success item, or an errors[] item for it (status error, taskFailedOrNotFound).")
def polling_stops_at_terminal_status(traffic: Traffic):
    for uuid, polls in _polls_by_task(traffic).items():
        ended = next((entry for entry in polls if is_terminal(entry, uuid)), None)
        later = [entry for entry in polls if ended is not None and entry["id"] > ended["id"]]
        if later:
            yield (f"{uuid} was polled {len(later)} more time(s) after its final reply.",
                   _evidence(ended, *later, taskUUID=uuid))


@rule("VM006", "No resubmission of an acknowledged task",
      "After an ack, poll (or wait for the webhook) instead of sending the task again; "
      "treat conflictTaskUUID on a retry as 'already accepted'.")
def no_resubmission_after_ack(traffic: Traffic):
    acked = traffic.acked()
    open_by_content: dict[str, tuple[str, dict]] = {}
    ended = {uuid for uuid, polls in _polls_by_task(traffic).items() if any(is_terminal(p, uuid) for p in polls)}
    for entry, task in traffic.tasks(VIDEO):
        uuid = task.get("taskUUID")
        if uuid in acked and acked[uuid]["id"] < entry["id"]:
            yield f"{uuid} was sent again after it was acknowledged.", _evidence(acked[uuid], entry, taskUUID=uuid)
            continue
        content = _content(task)
        earlier = open_by_content.get(content)
        if earlier and earlier[0] != uuid and earlier[0] not in ended:
            yield (f"The task acknowledged as {earlier[0]} was resubmitted as {uuid} while still running.",
                   _evidence(earlier[1], entry, taskUUID=[earlier[0], uuid]))
        if uuid in acked:
            open_by_content[content] = (uuid, acked[uuid])


@rule("VM007", "Retry-After is honoured after a 429",
      "On 429, wait the Retry-After seconds (per key) before any further request.")
def retry_after_honoured(traffic: Traffic):
    by_key: dict[Any, list[dict]] = defaultdict(list)
    for entry in traffic.entries:
        by_key[entry.get("namespace")].append(entry)
    for entries in by_key.values():
        for limited, following in zip(entries, entries[1:]):
            response = limited.get("response") or {}
            wait = _seconds(response.get("headers", {}).get("Retry-After")) if response.get("status") == 429 else None
            if wait is None:
                continue
            gap = _at(following) - _at(limited)
            if gap + CLOCK_SLACK < wait:
                yield (f"A request came {gap:.2f} s after a 429 that asked to wait {wait:g} s.",
                       _evidence(limited, following))


def _seconds(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@rule("VM008", "Authentication comes first",
      "REST: send Authorization: Bearer KEY (or an authentication task first); "
      "WebSocket: make [{taskType: authentication, apiKey}] the first frame.")
def authentication_first(traffic: Traffic):
    for entry in traffic.entries:
        tasks = entry.get("tasks") or []
        leads_with_auth = bool(tasks) and isinstance(tasks[0], dict) and tasks[0].get("taskType") == AUTH
        if leads_with_auth:
            continue
        has_header = any(name.lower() == "authorization" for name in entry.get("headers") or {})
        if entry["transport"] == "ws" and entry.get("namespace") is None:
            yield "A WebSocket frame came before the socket was authenticated.", _evidence(entry)
        elif entry["transport"] == "rest" and not has_header:
            yield "A REST request carried no Authorization header and no leading authentication task.", _evidence(entry)
        elif any(item.get("code") in ("missingApiKey", "invalidApiKey") for item in reply_items(entry)[1]):
            yield "The request was refused for its API key.", _evidence(entry)


@rule("VM009", f"Webhooks are answered 2xx within {WEBHOOK_MAX_LATENCY_MS / 1000:g} s",
      "Answer the webhook POST with 200/204 at once and do the work afterwards (queue it).")
def webhooks_answered_promptly(traffic: Traffic):
    for record in traffic.deliveries:
        if record.get("kind") != "webhook":
            continue
        for attempt in record.get("attempts") or []:
            status, latency = attempt.get("status"), attempt.get("latencyMs") or 0.0
            evidence = {"delivery": record["id"], "taskUUID": record.get("taskUUID"), "url": record.get("url"),
                        "attempt": attempt.get("attempt"), "status": status, "latencyMs": latency}
            if status is None or not 200 <= status < 300:
                yield f"Webhook attempt {attempt.get('attempt')} got {status or attempt.get('error')}.", evidence
            elif latency > WEBHOOK_MAX_LATENCY_MS:
                yield f"Webhook attempt {attempt.get('attempt')} was answered after {latency:.0f} ms.", evidence


@rule("VM010", "The client reached the mock with the key it was given",
      "Read the mock's address from VIDMOCK_HTTP_URL or VIDMOCK_WS_URL and the key from VIDMOCK_API_KEY "
      "(or RUNWARE_API_KEY) instead of a built-in host or key, and send at least one request.")
def reached_the_mock(traffic: Traffic):
    mine = [entry for entry in traffic.entries if traffic.api_key is None or entry.get("namespace") == traffic.api_key]
    if not mine:
        others = [entry["id"] for entry in traffic.entries]
        message = "Nothing was recorded for the key" + (
            f"; {len(others)} request(s) came without it." if others else ": the client never reached the mock.")
        yield message, {"apiKey": traffic.api_key, "entries": [], "otherEntries": others}


@rule("VM011", "REST requests are sent as Content-Type: application/json",
      "Send every POST /v1 with the header Content-Type: application/json (most HTTP clients do when given JSON "
      "to send; curl -d does not).")
def rest_requests_are_json(traffic: Traffic):
    for entry in traffic.entries:
        if entry["transport"] != Transport.REST or entry.get("method") not in (None, "POST"):
            continue
        sent = next((value for name, value in (entry.get("headers") or {}).items() if name.lower() == "content-type"), None)
        if sent is None or sent.partition(";")[0].strip().lower() != "application/json":
            shown = f"Content-Type {sent!r}" if sent is not None else "no Content-Type"
            yield f"A REST request was sent with {shown}; Runware requires application/json.", _evidence(entry)


@rule("VM012", "taskUUIDs are UUID v4, as the documents require",
      "Draw a fresh uuid.uuid4() for every new task (not uuid1/uuid7 or a hand-made string).")
def task_uuids_are_v4(traffic: Traffic):
    """The live service accepted a UUIDv7 (real-traffic deankerr-ig invalidWidth) and vidmock
    serves any version, but the documents ask for v4: a client relying on more is flagged here."""
    for entry, task in _submitted(traffic):
        uuid = task.get("taskUUID")
        if isinstance(uuid, str) and not TASK_UUID_V4.match(uuid):
            yield f"taskUUID {uuid!r} is not a UUID v4.", _evidence(entry, taskUUID=uuid)

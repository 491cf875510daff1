"""Behaviours as text: the JSON that ``vidmock check --behaviour`` takes and the reproduce line
prints, and the plain-English description of a run.

The JSON names only what differs from "all is well", so a shrunk behaviour prints short:

    {"submit": [429, "reset"], "poll": [503], "progression": "polls:2", "staggered": true,
     "outcome": "providerError", "webhook": {"delayMs": 500, "duplicate": true, "reorder": false},
     "delayMs": 250, "scenarios": ["flaky-5xx"], "numberResults": 2, "inexactMedia": true}

A refusal is its status (a 429 asks for Retry-After 1 s; ``{"status": 429, "retryAfter": 3}``
says otherwise), a drop its name (``reset``, ``reset-processed``, ``close1011``, ``abort``).
"""

from __future__ import annotations

import json
from typing import Any

from conformance.behaviours import (DROPS, IMMEDIATE, NSFW, RETRY_AFTER, SUCCESS, TASK_ERRORS, TRANSIENT_STATUSES,
                                    Behaviour, Drop, Refusal, Trouble, WebhookTrouble)
from mockserver.contract.vocabulary import Progression

KEYS = ("submit", "poll", "progression", "staggered", "outcome", "webhook", "delayMs", "scenarios", "numberResults",
        "inexactMedia")
WEBHOOK_KEYS = ("delayMs", "duplicate", "reorder")


# --- JSON ----------------------------------------------------------------------------------------


def to_json(behaviour: Behaviour) -> dict[str, Any]:
    """The behaviour as a JSON object, leaving out every field at its "all is well" value."""
    found: dict[str, Any] = {}
    if behaviour.submit_refusals:
        found["submit"] = [_trouble_json(t) for t in behaviour.submit_refusals]
    if behaviour.poll_refusals:
        found["poll"] = [_trouble_json(t) for t in behaviour.poll_refusals]
    if behaviour.progression != IMMEDIATE:
        found["progression"] = behaviour.progression
    if behaviour.staggered:
        found["staggered"] = True
    if behaviour.outcome != SUCCESS:
        found["outcome"] = behaviour.outcome
    if behaviour.webhook:
        hook = behaviour.webhook
        found["webhook"] = {"delayMs": hook.delay_ms, "duplicate": hook.duplicate, "reorder": hook.reorder}
    if behaviour.reply_delay_ms:
        found["delayMs"] = behaviour.reply_delay_ms
    if behaviour.scenarios:
        found["scenarios"] = list(behaviour.scenarios)
    if behaviour.number_results != 1:
        found["numberResults"] = behaviour.number_results
    if behaviour.inexact_media:
        found["inexactMedia"] = True
    return found


def dumps(behaviour: Behaviour) -> str:
    """Compact one-line JSON, for the reproduce line and JUnit."""
    return json.dumps(to_json(behaviour), separators=(", ", ": "))


def _trouble_json(trouble: Trouble) -> Any:
    if isinstance(trouble, Drop):
        return trouble.how
    if trouble.retry_after == (RETRY_AFTER if trouble.status == 429 else None):
        return trouble.status
    return {"status": trouble.status, "retryAfter": trouble.retry_after}


def json_object(value: Any, what: str) -> dict:
    """``value`` (JSON text, or already parsed) as a JSON object; ``ValueError`` says what is wrong."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{what} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} is a JSON object")
    return value


def from_json(value: Any) -> Behaviour:
    """A behaviour from its JSON (text or parsed); ``ValueError`` says what is wrong."""
    value = json_object(value, "the behaviour")
    unknown = sorted(set(value) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown behaviour field(s) {', '.join(unknown)}; known: {', '.join(KEYS)}")
    progression = value.get("progression", IMMEDIATE)
    parse_progression(progression)
    outcome = value.get("outcome", SUCCESS)
    if outcome not in (SUCCESS, *TASK_ERRORS, NSFW):
        raise ValueError(f"outcome must be one of {', '.join((SUCCESS, *TASK_ERRORS, NSFW))}")
    scenarios = value.get("scenarios", [])
    if not isinstance(scenarios, list) or not all(isinstance(name, str) for name in scenarios):
        raise ValueError("scenarios is a list of scenario names")
    return Behaviour(
        submit_refusals=_troubles(value.get("submit", []), "submit"),
        poll_refusals=_troubles(value.get("poll", []), "poll"),
        progression=progression, outcome=outcome,
        number_results=_integer(value.get("numberResults", 1), "numberResults", 1, 20),
        staggered=_boolean(value.get("staggered", False), "staggered"),
        webhook=_webhook(value["webhook"]) if value.get("webhook") is not None else None,
        reply_delay_ms=_integer(value.get("delayMs", 0), "delayMs", 0, 300_000),
        scenarios=tuple(scenarios),
        inexact_media=_boolean(value.get("inexactMedia", False), "inexactMedia"))


def parse_progression(policy: Any) -> Progression:
    """A progression policy, or ``ValueError`` naming the ones there are."""
    try:
        return Progression.parse(policy)
    except (ValueError, AttributeError):
        raise ValueError(f"progression {policy!r}: expected immediate, polls:N, seconds:T or manual") from None


def _troubles(items: Any, field: str) -> tuple[Trouble, ...]:
    if not isinstance(items, list):
        raise ValueError(f"{field} is a list of refusals (statuses) and drops")
    return tuple(_trouble(item, field) for item in items)


def _trouble(item: Any, field: str) -> Trouble:
    if isinstance(item, str):
        if item not in DROPS:
            raise ValueError(f"{field}: {item!r} is not a drop; drops are {', '.join(DROPS)}")
        return Drop(item)
    if isinstance(item, dict) and set(item) <= {"status", "retryAfter"}:
        status, retry_after = item.get("status"), item.get("retryAfter")
    else:
        status, retry_after = item, None
    if isinstance(status, bool) or status not in TRANSIENT_STATUSES:
        raise ValueError(f"{field}: {item!r} is neither a status ({', '.join(map(str, TRANSIENT_STATUSES))}) "
                         f"nor a drop ({', '.join(DROPS)})")
    if status == 429:
        retry_after = _integer(RETRY_AFTER if retry_after is None else retry_after, "retryAfter", 0, 86_400)
    elif retry_after is not None:
        raise ValueError(f"{field}: retryAfter goes with status 429 only")
    return Refusal(status, retry_after)


def _webhook(value: Any) -> WebhookTrouble:
    if not isinstance(value, dict) or set(value) - set(WEBHOOK_KEYS):
        raise ValueError(f"webhook is an object with {', '.join(WEBHOOK_KEYS)}")
    return WebhookTrouble(_integer(value.get("delayMs", 0), "webhook.delayMs", 0, 300_000),
                          _boolean(value.get("duplicate", False), "webhook.duplicate"),
                          _boolean(value.get("reorder", False), "webhook.reorder"))


def _integer(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number within {low}..{high}")
    return value


def _boolean(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


# --- plain English -------------------------------------------------------------------------------

DROP_TEXT = {"reset": "connection reset (request lost)", "reset-processed": "connection reset after it ran (reply lost)",
             "close1011": "socket closed 1011 after it ran", "abort": "socket aborted after it ran"}


def describe(behaviour: Behaviour) -> list[str]:
    """One phrase per way the behaviour differs from "all is well" (empty when it does not)."""
    lines = []
    for what, troubles in (("submits", behaviour.submit_refusals), ("polls", behaviour.poll_refusals)):
        if troubles:
            lines.append(f"{what} of each task: {', then '.join(map(_trouble_text, troubles))}, then served")
    kind, _, amount = behaviour.progression.partition(":")
    if kind == "polls":
        lines.append(f"each task answers processing to {amount} poll(s)")
    elif kind == "seconds":
        lines.append(f"each task finishes {amount} s after its submit")
    if behaviour.number_results != 1:
        lines.append(f"numberResults {behaviour.number_results}")
    if behaviour.staggered:
        lines.append("results released one more per poll (staggered)")
    if behaviour.outcome == NSFW:
        lines.append("every result is flagged NSFWContent: true")
    elif behaviour.outcome != SUCCESS:
        lines.append(f"every task ends in error {behaviour.outcome}")
    if behaviour.webhook:
        hook = behaviour.webhook
        traits = [f"{hook.delay_ms} ms late" if hook.delay_ms else "on time"]
        traits += ["doubled"] * hook.duplicate + ["reordered"] * hook.reorder
        lines.append(f"webhooks {', '.join(traits)}")
    if behaviour.reply_delay_ms:
        lines.append(f"every reply {behaviour.reply_delay_ms} ms late")
    if behaviour.inexact_media:
        lines.append("videos a few pixels and frames off the request, as live ones")
    lines += [f"scenario {name}" for name in behaviour.scenarios]
    return lines


def summary(behaviour: Behaviour) -> str:
    """The description on one line."""
    return "; ".join(describe(behaviour)) or "no trouble"


def _trouble_text(trouble: Trouble) -> str:
    if isinstance(trouble, Drop):
        return DROP_TEXT[trouble.how]
    if trouble.status == 429:
        return f"429 (Retry-After {trouble.retry_after} s)"
    return str(trouble.status)

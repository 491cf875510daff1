"""Model-profile rules: the cross-field checks a JSON Schema cannot state (which inputs go
together, which exclude each other, the allowed sizes), read from the model's profile.

Each rule of the profile is compiled once into a check (task -> the error's extra fields, or None)
that tests its cheapest condition first: a valid task passes a rule in a lookup or two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from mockserver.contract import allowed_sizes, frame_positions, model_profile
from mockserver.contract.errors import RunwareError

RuleCheck = Callable[[dict], "dict | None"]
_MISSING = object()


def _getter(dotted: str) -> Callable[[dict], Any]:
    """The value at a dotted path of a task, or ``_MISSING``."""
    parts = tuple(dotted.split("."))

    def get(task: dict) -> Any:
        node: Any = task
        for part in parts:
            if not isinstance(node, dict):
                return _MISSING
            node = node.get(part, _MISSING)
            if node is _MISSING:
                break
        return node
    return get


Presence = Callable[[dict], bool]


def _presence(dotted: str) -> Presence:
    """Whether a task sends the field at a dotted path (one or two levels: a lookup or two)."""
    parts = dotted.split(".")
    if len(parts) == 1:
        return lambda task: dotted in task
    if len(parts) == 2:
        outer, inner = parts

        def present(task: dict) -> bool:
            node = task.get(outer)
            return isinstance(node, dict) and inner in node
        return present
    get = _getter(dotted)
    return lambda task: get(task) is not _MISSING


def _require_any_of(rule: dict, model: str) -> RuleCheck:
    """Broken when no field of any group is sent (a partial group is the 'together' rule's)."""
    fields = [f for group in rule["groups"] for f in group]
    sent = [_presence(f) for f in fields]
    return lambda task: None if any(present(task) for present in sent) else {"parameter": list(fields)}


def _together(rule: dict, model: str) -> RuleCheck:
    fields, sent = rule["fields"], [_presence(f) for f in rule["fields"]]

    def check(task: dict) -> dict | None:
        given = [p(task) for p in sent]
        if not any(given) or all(given):
            return None
        missing = [f for f, was_sent in zip(fields, given) if not was_sent]
        return {"parameter": missing[0] if len(missing) == 1 else missing}
    return check


def _mutually_exclusive(rule: dict, model: str) -> RuleCheck:
    fields, sent = rule["fields"], [_presence(f) for f in rule["fields"]]
    return lambda task: {"parameter": list(fields)} if all(present(task) for present in sent) else None


def _required_unless(rule: dict, model: str) -> RuleCheck:
    field, sent, unless = rule["field"], _presence(rule["field"]), [_presence(f) for f in rule["unless"]]
    return lambda task: (None if sent(task) or any(present(task) for present in unless)
                         else {"parameter": field, "type": "string"})


def _max_when(rule: dict, model: str) -> RuleCheck:
    field, maximum, get, when = rule["field"], rule["max"], _getter(rule["field"]), [_presence(f) for f in rule["when"]]

    def check(task: dict) -> dict | None:
        value = get(task)
        if isinstance(value, int) and value > maximum and any(present(task) for present in when):
            return {"parameter": field, "type": "integer", "max": maximum}
        return None
    return check


def _requires_any_of(rule: dict, model: str) -> RuleCheck:
    sent, any_of = _presence(rule["field"]), [_presence(f) for f in rule["anyOf"]]
    return lambda task: ({"parameter": list(rule["anyOf"])}
                         if sent(task) and not any(present(task) for present in any_of) else None)


def _allowed_size(rule: dict, model: str) -> RuleCheck:
    sizes = [(w, h) for w, h, _ in allowed_sizes(model)]
    allowed, names = frozenset(sizes), [f"{w}x{h}" for w, h in sizes]

    def check(task: dict) -> dict | None:
        width, height = task.get("width"), task.get("height")
        if isinstance(width, int) and isinstance(height, int) and (width, height) not in allowed:
            return {"parameter": ["width", "height"], "type": "integer", "allowedValues": list(names)}
        return None
    return check


def _distinct_frame_positions(rule: dict, model: str) -> RuleCheck:
    get = _getter("inputs.frameImages")

    def check(task: dict) -> dict | None:
        frames = get(task)
        if isinstance(frames, list):
            positions = frame_positions(frames)
            if len(set(positions)) < len(positions):
                return {"parameter": "inputs.frameImages", "type": "array", "allowedValues": ["first", "last", 0, -1]}
        return None
    return check


_RULE_KINDS: dict[str, Callable[[dict, str], RuleCheck]] = {
    "requireAnyOf": _require_any_of, "together": _together, "mutuallyExclusive": _mutually_exclusive,
    "requiredUnless": _required_unless, "maxWhen": _max_when, "requiresAnyOf": _requires_any_of,
    "allowedSize": _allowed_size, "distinctFramePositions": _distinct_frame_positions,
}


def _compile_rule(rule: dict, model: str) -> RuleCheck:
    try:
        return _RULE_KINDS[rule["kind"]](rule, model)
    except KeyError:
        raise ValueError(f"unknown rule kind {rule['kind']!r} in the model profile") from None


def _rule_fields(rule: dict) -> list[str]:
    fields = list(rule.get("fields", [])) + [f for g in rule.get("groups", []) for f in g]
    fields += [rule[key] for key in ("field",) if key in rule]
    fields += list(rule.get("unless", [])) + list(rule.get("when", [])) + list(rule.get("anyOf", []))
    if rule["kind"] == "allowedSize":
        fields += ["width", "height", "model"]
    if rule["kind"] == "distinctFramePositions":
        fields += ["inputs.frameImages"]
    return fields


@cache
def _compiled_rules(model: str) -> tuple[tuple[dict, tuple[str, ...], RuleCheck], ...]:
    """Each profile rule with the fields it reads and its check, worked out once per model."""
    return tuple((rule, tuple(_rule_fields(rule)), _compile_rule(rule, model)) for rule in model_profile(model)["rules"])


def profile_errors(task: dict, broken: set[str]) -> Iterator[RunwareError]:
    """Cross-field rules, skipped where a field they read already failed the schema."""
    for rule, fields, check in _compiled_rules(task["model"]):
        if broken and any(_overlaps(field, bad) for field in fields for bad in broken):
            continue
        extra = check(task)
        if extra is not None:
            yield RunwareError(rule["code"], _rule_message(rule, task, extra), **extra)


def _rule_message(rule: dict, task: dict, extra: dict) -> str:
    """The profile's sentence, plus what was sent and what is allowed where the rule has a list."""
    message = rule["message"]
    if rule["kind"] == "allowedSize":
        message += f" Got {task['width']}x{task['height']}."
    if "allowedValues" in extra:
        message += " Allowed values: " + ", ".join(map(str, extra["allowedValues"])) + "."
    return message


def _overlaps(field: str, bad: str) -> bool:
    """``inputs.frameImages`` and ``inputs.frameImages[0].image`` concern the same value."""
    return field == bad or bad.startswith((field + ".", field + "[")) or field.startswith(bad + ".")

"""Reading one dry-run answer, and where the upstream's and vidmock's answers to a task differ.

``Answer.read`` turns a status and a body into what probe compares: accepted or refused, the
status, the refusal's code and parameter, the quoted cost, and the reply's shape (its top-level
keys, the key set of each item, and how it breaks ``schemas/responses/``). ``disagreements`` sets
two answers side by side; each disagreement has a ``signature`` that stays the same while a
request is shrunk and is how duplicates are folded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from mockserver.contract import model_profile, response_schema
from mockserver.validation import SchemaValidator, parameter_path

KINDS = ("verdict", "status", "code", "parameter", "cost", "shape", "schema")
DRY_RUN_ITEM, ERROR_ITEM, ENVELOPE = "dryRun", "error", "envelope"
# what a dry run must not hold: a result, or the means to fetch one (the canary's test)
RESULT_KEYS = frozenset({"videoUUID", "videoURL", "imageUUID", "imageURL", "mediaURL", "videoBase64Data",
                         "videoDataURI"})
RUNNING_STATUSES = frozenset({"processing", "success"})


@dataclass
class Answer:
    """What one side answered to one task."""

    status: int
    accepted: bool
    code: str | None = None
    parameter: Any = None
    cost: float | None = None
    readable: bool = True
    verbatim: str = ""
    keys: dict[str, list[str]] = field(default_factory=dict)  # "envelope", "data[0]", "errors[0]" -> keys
    broken: list[str] = field(default_factory=list)  # how the reply breaks schemas/responses/

    def to_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "status": self.status, "code": self.code,
                "parameter": self.parameter, "cost": self.cost}

    @classmethod
    def read(cls, status: int, text: str, task_uuid: str | None) -> Answer:
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return cls(status, False, readable=False, verbatim=text)
        data = [item for item in _list(body.get("data")) if isinstance(item, dict)]
        errors = [item for item in _list(body.get("errors")) if isinstance(item, dict)]
        mine = [item for item in data if item.get("taskUUID") == task_uuid] or data[:1]
        refusal = next((e for e in errors if e.get("taskUUID") == task_uuid), errors[0] if errors else None)
        answer = cls(status, status == 200 and refusal is None and bool(mine), verbatim=text)
        if refusal is not None:
            answer.code, answer.parameter = refusal.get("code"), refusal.get("parameter")
        if mine and _number(mine[0].get("cost")):
            answer.cost = mine[0]["cost"]
        answer.keys = {ENVELOPE: sorted(body)}
        answer.keys.update({f"data[{i}]": sorted(item) for i, item in enumerate(data)})
        answer.keys.update({f"errors[{i}]": sorted(item) for i, item in enumerate(errors)})
        answer.broken = _schema_breaks(ENVELOPE, body, "")
        answer.broken += [b for i, item in enumerate(data) for b in _schema_breaks(DRY_RUN_ITEM, item, f"data[{i}]")]
        answer.broken += [b for i, e in enumerate(errors) for b in _schema_breaks(ERROR_ITEM, e, f"errors[{i}]")]
        return answer


@dataclass(frozen=True)
class Disagreement:
    kind: str
    message: str
    signature: tuple


def disagreements(upstream: Answer, vidmock: Answer, model: str) -> list[Disagreement]:
    """Where the two answers to one task differ, most fundamental first: a different verdict
    hides the status, code and parameter it implies."""
    if not upstream.readable:
        return [Disagreement("shape", "The upstream's reply is not a JSON object; its body is kept verbatim.",
                             ("unreadable", upstream.status))]
    found = []
    if upstream.accepted != vidmock.accepted:
        side = "accepted" if upstream.accepted else f"refused ({upstream.code} on {_param(upstream.parameter)})"
        ours = f"refuses it ({vidmock.code} on {_param(vidmock.parameter)})" if not vidmock.accepted else "accepts it"
        found.append(Disagreement("verdict", f"The upstream {side} the task; vidmock {ours}.",
                                  (upstream.accepted, upstream.code, _param(upstream.parameter), vidmock.code,
                                   _param(vidmock.parameter))))
    else:
        if upstream.status != vidmock.status:
            found.append(Disagreement("status", f"The upstream answered HTTP {upstream.status}; vidmock {vidmock.status}.",
                                      (upstream.status, vidmock.status, vidmock.code)))
        if not upstream.accepted and upstream.code != vidmock.code:
            found.append(Disagreement("code", f"The upstream refused it with {upstream.code!r}; vidmock with "
                                      f"{vidmock.code!r}.", (upstream.code, vidmock.code)))
        if not upstream.accepted and _param(upstream.parameter) != _param(vidmock.parameter):
            found.append(Disagreement("parameter", f"The upstream names the parameter {_param(upstream.parameter)!r}; "
                                      f"vidmock {_param(vidmock.parameter)!r}.",
                                      (_param(upstream.parameter), _param(vidmock.parameter))))
        cost = _cost_disagreement(upstream, vidmock, model)
        if cost:
            found.append(cost)
    shape = _shape_disagreement(upstream, vidmock) if upstream.accepted == vidmock.accepted else None
    if shape:  # an acceptance and a refusal differ in shape anyway: the verdict says it
        found.append(shape)
    return found


def plain_dry_run(status: int, text: str) -> str | None:
    """Why an answer to the canary is not plainly a dry run (None when it is): it must be a 200
    with a cost, no result and nothing processing."""
    try:
        body = json.loads(text)
    except ValueError:
        return "the reply is not JSON"
    data = body.get("data") if isinstance(body, dict) else None
    if status != 200 or not isinstance(data, list) or not data:
        return f"HTTP {status} without data items"
    if not all(isinstance(item, dict) for item in data):
        return "a data item is not an object"
    ran = real_run(text)
    if ran:
        return ran
    if not any(_number(item.get("cost")) for item in data):
        return "no data item quotes a cost"
    if isinstance(body.get("errors"), list) and body["errors"]:
        return "the reply carries errors"
    return None


def real_run(text: str) -> str | None:
    """What in a reply says a task was run rather than dry-run (a result, or a status of a running
    task), or None. Any answer, not only the canary's, is held to it."""
    try:
        body = json.loads(text)
    except ValueError:
        return None
    for item in _list(body.get("data") if isinstance(body, dict) else None):
        if not isinstance(item, dict):
            continue
        held = sorted(RESULT_KEYS & set(item))
        if held:
            return f"a data item holds {', '.join(held)}: a result was made"
        if item.get("status") in RUNNING_STATUSES:
            return f"a data item has status {item['status']!r}: the task runs"
    return None


def is_auth_refusal(status: int, text: str) -> bool:
    """The upstream refused the key (401/403, or an error code about the key)."""
    if status in (401, 403):
        return True
    try:
        body = json.loads(text)
    except ValueError:
        return False
    errors = body.get("errors") if isinstance(body, dict) else None
    return any(isinstance(e, dict) and e.get("code") in ("invalidApiKey", "missingApiKey") for e in _list(errors))


def _cost_disagreement(upstream: Answer, vidmock: Answer, model: str) -> Disagreement | None:
    """Costs compared to the profile's decimals, as the drift judge compares them
    (``mockserver.traffic.drift``: a difference of more than one unit of the last decimal)."""
    if not (upstream.accepted and upstream.cost is not None and vidmock.cost is not None):
        return None
    decimals = model_profile(model)["pricing"]["decimals"]
    theirs, ours = round(upstream.cost, decimals), round(vidmock.cost, decimals)
    if abs(round(upstream.cost * 10 ** decimals) - round(vidmock.cost * 10 ** decimals)) <= 1:  # in whole units
        return None
    ratio = round(theirs / ours, 4) if ours else None
    return Disagreement("cost", f"The upstream quotes {theirs}; vidmock's profile prices it at {ours}.", (ratio,))


def _shape_disagreement(upstream: Answer, vidmock: Answer) -> Disagreement | None:
    """Key sets of the envelope and of each item that differ from vidmock's own reply, and what
    in the upstream's reply breaks schemas/responses/."""
    notes = []
    for where in sorted(set(upstream.keys) | set(vidmock.keys), key=_item_order):
        theirs, ours = set(upstream.keys.get(where, ())), set(vidmock.keys.get(where, ()))
        if where not in upstream.keys or where not in vidmock.keys:
            notes.append(f"{where} only {'upstream' if where in upstream.keys else 'vidmock'}")
        elif theirs != ours:
            extra, missing = sorted(theirs - ours), sorted(ours - theirs)
            notes.append(f"{where}: " + "; ".join(
                part for part in (f"only upstream has {', '.join(extra)}" if extra else "",
                                  f"only vidmock has {', '.join(missing)}" if missing else "") if part))
    notes += [b for b in upstream.broken if b not in vidmock.broken]
    if not notes:
        return None
    return Disagreement("shape", "The replies differ in shape: " + "; ".join(notes) + ".", tuple(notes))


@cache
def _validator(name: str) -> SchemaValidator:
    return SchemaValidator(response_schema(name))


def _schema_breaks(name: str, item: Any, where: str) -> list[str]:
    found = []
    for error in _validator(name).iter_errors(item):
        place = parameter_path([where, *error.absolute_path] if where else list(error.absolute_path)) or "the reply"
        found.append(f"{place} breaks responses/{name}.json ({error.validator})")
    return found


def _item_order(where: str) -> tuple[int, str]:
    return (0 if where == ENVELOPE else 1, where)


def _param(parameter: Any) -> str | None:
    if isinstance(parameter, list):
        return ", ".join(map(str, parameter))
    return parameter if isinstance(parameter, str) else None


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)

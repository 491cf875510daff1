"""The questions ``vidmock probe`` asks first, read from ``schemas/`` and the model profile, and
the smaller requests it tries when one of them finds a disagreement.

Boundaries first, since that is where a mock's model of a service goes wrong: every allowed size
and a near miss of each; each numeric bound and one past it; each length and item-count bound
and one past it; each enum value and one outside it (the same word in the other case); both
values of each switch; both sides of each profile rule; each form an input takes. Every question
starts from the canary (the cheapest valid task) and changes one thing. Nothing here names a
field: a contract change changes the questions with it.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from conformance.strategies import (OUTBOUND_FIELDS, VIDEO, image_bytes, node_at, place_at, remove_at,
                                    video_schema)
from mockserver.contract import allowed_sizes, load_json, model_profile
from mockserver.media.formats import IMAGE_TYPES

SKELETON = ("taskType", "taskUUID", "model")  # what every task keeps, however it is shrunk
PROBE_IMAGE = ("PNG", 64, 64)  # the inline image of every question (real bytes, a listed format)
PROBE_UUID = "00000000-0000-4000-8000-000000000000"  # an input UUID nobody uploaded
PROBE_URL = "https://example.com/vidmock-probe.png"  # only with --url-inputs (a reserved domain)
UNKNOWN_MEMBER = "vidmockProbe"

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Question:
    label: str  # what it asks, e.g. "duration = 16 (maximum + 1)"
    task: dict  # without taskUUID: each sending gets a fresh one


# --- the canary and the simplest values ------------------------------------------------------


def canary(model: str | None = None) -> dict:
    """The cheapest valid task: the lowest-priced class's first size, the shortest duration,
    the shortest prompt, one result."""
    profile = model_profile(model) if model else model_profile()
    rates = profile["pricing"]["perSecond"]
    cheapest = min(rates, key=lambda cls: rates[cls]["default"])
    width, height, _ = next(size for size in allowed_sizes(profile["model"]) if size[2] == cheapest)
    properties = video_schema()["properties"]
    return {"taskType": VIDEO, "model": profile["model"],
            "positivePrompt": "a" * max(1, properties["positivePrompt"].get("minLength", 1)),
            "width": width, "height": height, "duration": properties["duration"]["minimum"]}


def _forms() -> dict[str, str]:
    """pattern -> name of the shared input forms of schemas/definitions.json."""
    definitions = load_json("definitions.json")["definitions"]
    return {definitions[name]["pattern"]: name for name in ("uuid", "httpURL", "dataURI", "base64")}


def form_value(form: str) -> str:
    """A value of one input form (uuid, httpURL, dataURI, base64)."""
    if form == "uuid":
        return PROBE_UUID
    if form == "httpURL":
        return PROBE_URL
    fmt, width, height = PROBE_IMAGE
    text = base64.b64encode(image_bytes(fmt, width, height)).decode()
    return f"data:{IMAGE_TYPES[fmt].content_type};base64,{text}" if form == "dataURI" else text


def input_forms(node: dict) -> list[str]:
    """The forms an input node takes, in the schema's order."""
    forms, found = _forms(), []
    for branch in node.get("anyOf", ()):
        if branch.get("pattern") in forms:
            found.append(forms[branch["pattern"]])
        elif "anyOf" in branch:  # a reference to a shared input node, inlined
            found += [form for form in input_forms(branch) if form not in found]
    return found


def simplest(node: dict) -> Any:
    """The simplest valid value of a schema node (an inline image for an image input, whose
    other forms need an upload or a fetch)."""
    forms = input_forms(node)
    if forms:
        return form_value("dataURI" if "dataURI" in forms else forms[0])
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return node["enum"][0]
    if "anyOf" in node:
        return simplest(node["anyOf"][0])
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        return {name: simplest(node["properties"][name]) for name in node.get("required", ())}
    if kind == "array":
        return [simplest(node["items"])] * max(1, node.get("minItems", 0))
    if kind in ("integer", "number"):
        return node.get("default", node.get("minimum", 0))
    if kind == "boolean":
        return False
    return "a" * max(1, node.get("minLength", 0))


# --- boundary questions ----------------------------------------------------------------------


def boundary_questions(model: str | None = None, *, url_inputs: bool = False) -> list[Question]:
    """Every question of the boundary phase, duplicates dropped, in a fixed order."""
    base = canary(model)
    found = [*_size_questions(base), *_field_questions(base), *_rule_questions(base),
             *_form_questions(base, url_inputs)]
    seen, kept = set(), []
    for question in found:
        key = json.dumps(question.task, sort_keys=True)
        if key not in seen and key != json.dumps(base, sort_keys=True):
            seen.add(key)
            kept.append(question)
    return kept


def _with(base: dict, changes: dict[Path, Any], removed: tuple[Path, ...] = ()) -> dict:
    task = copy.deepcopy(base)
    for path in removed:
        remove_at(task, path)
    for path, value in changes.items():
        place_at(task, path, copy.deepcopy(value))
    return task


def _size_questions(base: dict) -> Iterator[Question]:
    sizes = {(w, h) for w, h, _ in allowed_sizes(base["model"])}
    for width, height, cls in allowed_sizes(base["model"]):
        yield Question(f"size {width}x{height} ({cls})", {**base, "width": width, "height": height})
        if (width + 1, height) not in sizes:
            yield Question(f"size {width + 1}x{height} (near miss of {width}x{height})",
                           {**base, "width": width + 1, "height": height})


def _leaves(node: dict, path: Path = (), setup: tuple = ()) -> Iterator[tuple[Path, dict, tuple]]:
    """(path, node, what must be placed first) of every schema node below a task."""
    yield path, node, setup
    for name, sub in node.get("properties", {}).items():
        yield from _leaves(sub, path + (name,), setup)
    items = node.get("items")
    if isinstance(items, dict):
        yield from _leaves(items, path + (0,), setup)
    for branch in node.get("anyOf", ()):
        if branch.get("type") == "object" or "properties" in branch:
            inner = setup + ((path, simplest(branch)),)
            for name, sub in branch.get("properties", {}).items():
                yield from _leaves(sub, path + (name,), inner)


def _context(path: Path) -> dict[Path, Any]:
    """What the profile's requiresAnyOf rules need beside a field (shotType needs a reference)."""
    needs = {}
    dotted = ".".join(str(part) for part in path)
    for rule in model_profile()["rules"]:
        if rule["kind"] == "requiresAnyOf" and dotted.startswith(rule["field"]):
            first = tuple(rule["anyOf"][0].split("."))
            needs[first] = simplest(node_at(video_schema(), first))
    return needs


def _field_questions(base: dict) -> Iterator[Question]:
    for path, node, setup in _leaves(video_schema()):
        if not path or path[0] in SKELETON[:2] or path[0] in OUTBOUND_FIELDS:
            continue
        name = ".".join(str(part) for part in path)
        context = {**dict(setup), **_context(path)}
        for label, value in _values_to_ask(node):
            yield Question(f"{name} = {label}", _with(base, {**context, path: value}))
        if node.get("additionalProperties") is False and (node.get("type") == "object"):
            yield Question(f"{name}.{UNKNOWN_MEMBER} (an unknown member)",
                           _with(base, {**context, path + (UNKNOWN_MEMBER,): 1}))
    yield Question(f"{UNKNOWN_MEMBER} (an unknown parameter)", {**base, UNKNOWN_MEMBER: 1})


def _values_to_ask(node: dict) -> Iterator[tuple[str, Any]]:
    """(label, value) of the boundary values of one node."""
    kind = node.get("type")
    allowed = node.get("enum", [node["const"]] if "const" in node else None)
    if allowed is not None:
        for value in allowed:
            yield json.dumps(value), value
        outside = _outside(allowed)
        yield f"{json.dumps(outside)} (outside {json.dumps(allowed)})", outside
        return
    if kind == "integer":
        for keyword, step in (("minimum", -1), ("maximum", 1)):
            if keyword in node:
                yield f"{node[keyword]} ({keyword})", node[keyword]
                yield f"{node[keyword] + step} ({keyword} {'+' if step > 0 else '-'} 1)", node[keyword] + step
    elif kind == "boolean":
        yield "true", True
        yield "false", False
        yield '"true" (a string)', "true"
    elif kind == "string" and "pattern" not in node:
        for keyword, step in (("minLength", -1), ("maxLength", 1)):
            if node.get(keyword):
                yield f"{node[keyword]} characters ({keyword})", "a" * node[keyword]
                yield f"{node[keyword] + step} characters ({keyword} {'+' if step > 0 else '-'} 1)", \
                    "a" * (node[keyword] + step)
    elif kind == "array":
        item = simplest(node["items"])
        for keyword, step in (("minItems", -1), ("maxItems", 1)):
            if node.get(keyword):
                yield f"{node[keyword]} items ({keyword})", [item] * node[keyword]
                yield f"{node[keyword] + step} items ({keyword} {'+' if step > 0 else '-'} 1)", \
                    [item] * (node[keyword] + step)


def _outside(allowed: list) -> Any:
    """A near miss of an allowed set: the first word in the other case, else a number next to it."""
    first = allowed[0]
    if isinstance(first, str) and first.swapcase() not in allowed:
        return first.swapcase()
    numbers = [v for v in allowed if isinstance(v, int) and not isinstance(v, bool)]
    candidate = max(numbers, default=0) + 1
    return candidate if candidate not in allowed else f"{first}x"


def _field_value(field: str) -> Any:
    path = tuple(field.split("."))
    if field == "inputs.frameImages":  # one image: the first frame
        return [form_value("dataURI")]
    return simplest(node_at(video_schema(), path))


def _rule_questions(base: dict) -> Iterator[Question]:
    """Both sides of each profile rule: one task that keeps it, one that breaks it."""
    def dotted(field: str) -> Path:
        return tuple(field.split("."))

    for rule in model_profile(base["model"])["rules"]:
        kind, name = rule["kind"], f"rule {rule['id']}"
        if kind == "requireAnyOf":
            every = tuple(dotted(f) for group in rule["groups"] for f in group)
            yield Question(f"{name}: none of its groups", _with(base, {}, every))
            for group in rule["groups"]:
                yield Question(f"{name}: only {' + '.join(group)}",
                               _with(base, {dotted(f): base.get(f, _field_value(f)) for f in group}, every))
        elif kind == "together":
            for field in rule["fields"]:
                others = tuple(dotted(f) for f in rule["fields"] if f != field)
                yield Question(f"{name}: {field} alone", _with(base, {}, others))
        elif kind == "mutuallyExclusive":
            yield Question(f"{name}: all of {', '.join(rule['fields'])}",
                           _with(base, {dotted(f): _field_value(f) for f in rule["fields"]}))
            for field in rule["fields"]:
                yield Question(f"{name}: {field} alone", _with(base, {dotted(field): _field_value(field)}))
        elif kind == "requiredUnless":
            field = dotted(rule["field"])
            yield Question(f"{name}: without {rule['field']}", _with(base, {}, (field,)))
            for other in rule["unless"]:
                yield Question(f"{name}: without {rule['field']}, with {other}",
                               _with(base, {dotted(other): _field_value(other)}, (field,)))
        elif kind == "maxWhen":
            field = dotted(rule["field"])
            for trigger in rule["when"]:
                for value in (rule["max"], rule["max"] + 1):
                    yield Question(f"{name}: {rule['field']} = {value} with {trigger}",
                                   _with(base, {dotted(trigger): _field_value(trigger), field: value}))
            yield Question(f"{name}: {rule['field']} = {rule['max'] + 1} without {', '.join(rule['when'])}",
                           _with(base, {field: rule["max"] + 1}))
        elif kind == "requiresAnyOf":
            field = dotted(rule["field"])
            value = _field_value(rule["field"])
            yield Question(f"{name}: {rule['field']} alone", _with(base, {field: value}))
            for other in rule["anyOf"]:
                yield Question(f"{name}: {rule['field']} with {other}",
                               _with(base, {field: value, dotted(other): _field_value(other)}))
        elif kind == "distinctFramePositions":
            image = form_value("dataURI")
            for frames, side in (([{"image": image, "frame": "first"}] * 2, "two first frames"),
                                 ([{"image": image, "frame": "first"}, {"image": image, "frame": "last"}],
                                  "a first and a last frame")):
                yield Question(f"{name}: {side}", _with(base, {("inputs", "frameImages"): frames}))
        # allowedSize: the size questions ask it, size by size


def _form_questions(base: dict, url_inputs: bool) -> Iterator[Question]:
    """Each form of each input (a UUID nobody uploaded, a data URI, base64; a URL when allowed)."""
    for path, node, setup in _leaves(video_schema()):
        forms = input_forms(node)
        if not forms or not path or path[0] != "inputs":
            continue
        name = ".".join(str(part) for part in path)
        for form in forms:
            if form == "httpURL" and not url_inputs:
                continue
            yield Question(f"{name} as {form}", _with(base, {**dict(setup), **_context(path), path: form_value(form)}))


# --- shrinking ---------------------------------------------------------------------------------


def smaller(task: dict, base: dict) -> Iterator[dict]:
    """Candidate tasks one step smaller than ``task``: first one field or item fewer (deepest
    last), then one value made simpler (the canary's value for the field, else the simplest
    valid value of its schema node). The skeleton (taskType, taskUUID, model) stays."""
    paths = list(_paths(task))
    for path in paths:
        if path[0] in SKELETON:
            continue
        yield _without(task, path)
    for path in paths:
        if path[0] in SKELETON:
            continue
        current = value_at(task, path)
        if isinstance(current, (dict, list)):
            continue
        simpler = value_at(base, path, default=None)
        if simpler is None:
            try:
                simpler = simplest(node_at(video_schema(), path))
            except (KeyError, TypeError):
                continue
        if simpler != current and _weight(simpler) <= _weight(current):
            yield _with(task, {path: simpler})


def _paths(value: Any, path: Path = ()) -> Iterator[Path]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,)
            yield from _paths(item, path + (key,))
    elif isinstance(value, list) and len(value) > 1:
        for index, item in enumerate(value):
            yield path + (index,)
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, (dict, list)):
                yield from _paths(item, path + (index,))


def value_at(value: Any, path: Path, default: Any = KeyError) -> Any:
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            if default is KeyError:
                raise
            return default
    return value


def _without(task: dict, path: Path) -> dict:
    copied = copy.deepcopy(task)
    parent = value_at(copied, path[:-1])
    del parent[path[-1]]
    return copied


def _weight(value: Any) -> int:
    """How big a value reads (the size of its JSON), for choosing the simpler of two."""
    return len(json.dumps(value))

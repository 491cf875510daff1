"""Hypothesis strategies for requests, generated from ``schemas/`` and the model profile.

Valid ``videoInference`` tasks cover every mode of the spec, valid ``mediaStorage`` tasks both
operations; invalid ones break exactly one rule (a schema keyword or a profile rule) and carry the
error the API must answer with. Nothing here lists a field, a bound or an allowed value: each comes
from the schema node or profile rule it tests, so a contract change changes the generated cases
with it. Inline media (data URIs, base64) is real: vidmock decodes it, so the bytes are images of
the listed formats (and WAV audio for uploads), drawn at small random sizes.

hypothesis-jsonschema's ``from_schema`` builds the leaves; objects are composed here, which also
keeps them clear of its object generator (broken with current hypothesis: ``'many' object has no
attribute 'more'``).
"""

from __future__ import annotations

import base64
import copy
import io
import json
import re
import wave
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from PIL import Image

from mockserver.contract import allowed_sizes, frame_positions, load_json, model_profile, task_schema
from mockserver.contract.vocabulary import TaskType
from mockserver.media.formats import IMAGE_TYPES
from mockserver.validation import SchemaValidator, parameter_path

VIDEO = TaskType.VIDEO_INFERENCE
MEDIA_STORAGE = TaskType.MEDIA_STORAGE
MODES = ("textToVideo", "firstFrame", "firstAndLastFrame", "references", "audio")
# Fields that make the server act outside the request (deliveries) or cost render time: left out
# or pinned when a task is meant for a live server.
OUTBOUND_FIELDS = ("webhookURL", "uploadEndpoint")
LIVE_PINS = {"duration": 2, "numberResults": 1, "resolution": "720p", "seed": 7}

Path = tuple[str | int, ...]


# --- reading the contract ------------------------------------------------------------------------


def video_schema() -> dict:
    return task_schema(VIDEO)


def node_at(schema: dict, path: Path) -> dict:
    """The sub-schema of a parameter path (``("inputs", "frameImages", 0)`` is an item)."""
    node = schema
    for part in path:
        node = node["items"] if isinstance(part, int) else node["properties"][part]
    return node


def profile_rule(kind: str, field: str | None = None) -> dict:
    """The first profile rule of a kind (and about a field)."""
    return next(rule for rule in model_profile()["rules"]
                if rule["kind"] == kind and (field is None or rule.get("field") == field))


def _is_object(node: dict) -> bool:
    return node.get("type") == "object" or "properties" in node


# --- generic values of a schema node -------------------------------------------------------------


@cache
def values(node_key: str) -> st.SearchStrategy:
    """Valid values of a schema node, keyed by its JSON text so each strategy is built once."""
    node = json.loads(node_key)
    if _inline_branches(node):
        return _media_references(node)
    if _is_object(node):
        return _objects(node)
    if _has_object_branch(node):
        return st.one_of(*(values_of(branch) for branch in node["anyOf"]))
    if node.get("type") == "array" and (_is_object(node["items"]) or _has_object_branch(node["items"])
                                        or _inline_branches(node["items"])):
        return st.lists(values_of(node["items"]), min_size=node.get("minItems", 0),
                        max_size=node.get("maxItems", 3))
    return from_schema(node)


def values_of(node: dict) -> st.SearchStrategy:
    return values(json.dumps(node, sort_keys=True))


# --- inline media: real bytes --------------------------------------------------------------------


def _inline_patterns() -> dict[str, str]:
    """pattern -> definition name of the inline forms (data URI, base64) in schemas/definitions.json."""
    definitions = load_json("definitions.json")["definitions"]
    return {definitions[name]["pattern"]: name for name in ("dataURI", "base64")}


def _inline_branches(node: dict) -> list[str]:
    """The inline forms a reference node takes (``anyOf`` branches with their patterns)."""
    return [_inline_patterns()[b["pattern"]] for b in node.get("anyOf", ()) if b.get("pattern") in _inline_patterns()]


@lru_cache(maxsize=256)
def image_bytes(fmt: str, width: int, height: int) -> bytes:
    """A real image of one of the listed formats (``IMAGE_TYPES``)."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (width * 5 % 256, height * 3 % 256, 90)).save(buffer, format=fmt)
    return buffer.getvalue()


@lru_cache(maxsize=16)
def wav_bytes(frames: int) -> bytes:
    """A real WAV file (8 kHz mono silence), for audio uploads."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(8000)
        out.writeframes(b"\0\0" * frames)
    return buffer.getvalue()


def images() -> st.SearchStrategy:
    """(bytes, Content-Type) of a small real image of any listed format."""
    formats = st.sampled_from(sorted(IMAGE_TYPES))
    return st.builds(lambda fmt, w, h: (image_bytes(fmt, w, h), IMAGE_TYPES[fmt].content_type),
                     formats, st.integers(1, 48), st.integers(1, 48))


def audio() -> st.SearchStrategy:
    return st.integers(0, 800).map(lambda frames: (wav_bytes(frames), "audio/wav"))


def inline(files: st.SearchStrategy, form: str) -> st.SearchStrategy:
    """A file as a data URI or as raw base64."""
    def encode(file: tuple[bytes, str]) -> str:
        text = base64.b64encode(file[0]).decode()
        return f"data:{file[1]};base64,{text}" if form == "dataURI" else text
    return files.map(encode)


def _media_references(node: dict, files: st.SearchStrategy | None = None) -> st.SearchStrategy:
    """A reference node whose inline forms carry real files (images unless ``files`` says else);
    its other forms (UUID, URL) from the schema."""
    files = files if files is not None else images()
    others = [from_schema(b) for b in node["anyOf"] if b.get("pattern") not in _inline_patterns()]
    return st.one_of(*others, *(inline(files, form) for form in _inline_branches(node)))


def _has_object_branch(node: dict) -> bool:
    return any(_is_object(branch) for branch in node.get("anyOf", ()))


def _objects(node: dict) -> st.SearchStrategy:
    properties = node.get("properties", {})
    required = set(node.get("required", ()))
    return st.fixed_dictionaries(
        {name: values_of(sub) for name, sub in properties.items() if name in required},
        optional={name: values_of(sub) for name, sub in properties.items() if name not in required},
    )


# --- valid videoInference tasks ------------------------------------------------------------------


def _image_node(live: bool) -> dict:
    """Image references; for a live server only inline data and URLs (UUIDs must be uploads)."""
    node = node_at(video_schema(), ("inputs", "referenceImages", 0))
    return _without_uuid_branch(node) if live else node


def _media_node(live: bool) -> dict:
    node = node_at(video_schema(), ("inputs", "referenceVideos", 0))
    return _without_uuid_branch(node) if live else node


def _without_uuid_branch(node: dict) -> dict:
    """A UUID input names an asset of the caller; a live server rejects unknown ones."""
    uuid_pattern = "^[0-9a-fA-F]{8}-"
    branches = [b for b in node["anyOf"] if not b.get("pattern", "").startswith(uuid_pattern)]
    return {**node, "anyOf": branches}


def _frame_values(position: str) -> list:
    """The ``frame`` values that place an image at ``position`` (read from the schema enum)."""
    item = node_at(video_schema(), ("inputs", "frameImages", 0))
    enum = next(branch for branch in item["anyOf"] if _is_object(branch))["properties"]["frame"]["enum"]
    return [value for value in enum if frame_positions([{"image": "", "frame": value}]) == [position]]


@st.composite
def _frame_item(draw, position: str, index: int, live: bool) -> Any:
    """One frameImages item at a position: a bare reference where the index implies the position,
    else an object with an explicit ``frame``."""
    image = draw(values_of(_image_node(live)))
    implied = frame_positions([None] * (index + 1))[index] == position
    if implied and draw(st.booleans()):
        return image
    return {"image": image, "frame": draw(st.sampled_from(_frame_values(position)))}


def _option_fields(live: bool) -> dict[str, st.SearchStrategy]:
    """Every optional top-level field that does not decide the mode."""
    properties = video_schema()["properties"]
    mode_fields = {"taskType", "taskUUID", "model", "inputs", "positivePrompt", "width", "height", "settings"}
    options = {name: values_of(sub) for name, sub in properties.items() if name not in mode_fields}
    settings = {k: v for k, v in properties["settings"]["properties"].items() if k != "shotType"}
    options["settings"] = _objects({"type": "object", "properties": settings})
    if live:
        for name in OUTBOUND_FIELDS:
            options.pop(name)
        options.update({name: st.just(value) for name, value in LIVE_PINS.items()})
    return options


def _size(live: bool) -> st.SearchStrategy:
    sizes = [(w, h, cls) for w, h, cls in allowed_sizes() if not live or cls == LIVE_PINS["resolution"]]
    return st.sampled_from(sizes)


@st.composite
def video_tasks(draw, mode: str | None = None, *, live: bool = False) -> dict:
    """A valid videoInference task. ``live``: safe and cheap to send to a running server (no
    outbound URLs, UUID-free inputs, 720p, 2 s, one result)."""
    schema = video_schema()
    mode = mode or draw(st.sampled_from(MODES))
    task = {"taskType": VIDEO, "taskUUID": draw(values_of(schema["properties"]["taskUUID"])),
            "model": model_profile()["model"]}
    task.update(draw(st.fixed_dictionaries({}, optional=_option_fields(live))))
    prompt = values_of(schema["properties"]["positivePrompt"])
    width, height, resolution = draw(_size(live))
    sized = {"width": width, "height": height}
    if "resolution" in task:
        task["resolution"] = resolution

    if mode in ("textToVideo", "audio", "references"):
        task.update(sized, positivePrompt=draw(prompt))
    else:  # frame images: the prompt and the size are optional
        if draw(st.booleans()):
            task["positivePrompt"] = draw(prompt)
        if draw(st.booleans()):
            task.update(sized)
        positions = ["first"] if mode == "firstFrame" else draw(st.permutations(["first", "last"]))
        task["inputs"] = {"frameImages": [draw(_frame_item(p, i, live)) for i, p in enumerate(positions)]}
    if mode == "audio":
        task["inputs"] = {"audio": draw(values_of(_media_node(live)))}
    if mode == "references":
        task["inputs"] = draw(_references(live))
        cap = profile_rule("maxWhen", "duration")["max"]
        if task.get("duration", 0) > cap:
            task["duration"] = draw(st.integers(schema["properties"]["duration"]["minimum"], cap))
        if draw(st.booleans()):
            shot_type = values_of(node_at(schema, ("settings", "shotType")))
            task.setdefault("settings", {})["shotType"] = draw(shot_type)
    return task


@st.composite
def _references(draw, live: bool) -> dict:
    images = st.lists(values_of(_image_node(live)), min_size=1, max_size=3)
    videos = st.lists(values_of(_media_node(live)), min_size=1, max_size=2)
    inputs = draw(st.fixed_dictionaries({}, optional={"referenceImages": images, "referenceVideos": videos}))
    if not inputs:
        inputs["referenceImages"] = draw(images)
    if draw(st.booleans()):
        inputs["audio"] = draw(values_of(_media_node(live)))
    return inputs


# --- valid mediaStorage and getTaskDetails tasks -------------------------------------------------


def _operation_branch(operation: str) -> dict:
    """The part of the mediaStorage schema an operation's media must meet (its ``if``/``then``/``else``)."""
    schema = task_schema(MEDIA_STORAGE)
    chosen = schema["if"]["properties"]["operation"]["const"] == operation
    return schema["then" if chosen else "else"]


@st.composite
def media_storage_tasks(draw, operation: str | None = None, *, live: bool = False) -> dict:
    """A valid mediaStorage task: an upload of a real image or WAV (data URI or base64) or of a URL,
    or a delete of a UUID. ``live``: uploads only (a delete needs a UUID the server stored)."""
    schema = task_schema(MEDIA_STORAGE)
    operations = schema["properties"]["operation"]["enum"]
    if live:
        operations = [name for name in operations if _inline_branches(_operation_branch(name)["properties"]["media"])]
    operation = operation or draw(st.sampled_from(operations))
    media = _operation_branch(operation)["properties"]["media"]
    media_values = _media_references(media, st.one_of(images(), audio())) if _inline_branches(media) else values_of(media)
    return {"taskType": MEDIA_STORAGE, "taskUUID": draw(values_of(schema["properties"]["taskUUID"])),
            "operation": operation, "media": draw(media_values)}


def task_details_tasks() -> st.SearchStrategy:
    """A valid getTaskDetails task (of any taskUUID: the server knows only its key's)."""
    schema = task_schema(TaskType.GET_TASK_DETAILS)
    return st.fixed_dictionaries({name: values_of(sub) for name, sub in schema["properties"].items()})


# --- invalid tasks: one broken rule each ---------------------------------------------------------


@dataclass(frozen=True)
class Breach:
    """A task that breaks exactly one rule, and the error the API must answer with."""

    rule: str  # e.g. "maximum of numberResults", "profile rule shot-type-needs-references"
    task: dict
    code: str
    parameter: str | list[str]


@dataclass(frozen=True)
class Breaker:
    """How to break one rule: a name and a strategy of ``Breach`` (base task -> broken task)."""

    rule: str
    breaches: st.SearchStrategy


# Codes docs/errors.md names as exceptions to ``<prefix><Leaf>``, by (parameter, keyword family).
CODE_EXCEPTIONS = {
    ("duration", "bounds"): "unsupportedDuration",
    ("positivePrompt", "length"): "invalidPositivePromptLength",
    ("negativePrompt", "length"): "invalidNegativePromptLength",
}
KEYWORD_FAMILY = {"minimum": "bounds", "maximum": "bounds", "minLength": "length", "maxLength": "length"}
KEYWORD_PREFIX = {"required": "missing", "enum": "unsupported", "const": "unsupported"}
UNSUPPORTED_PARAMETER = "unsupportedParameter"


def expected_code(keyword: str, path: Path) -> str:
    """The code docs/errors.md assigns to breaking ``keyword`` at ``path``."""
    if keyword == "additionalProperties":
        return UNSUPPORTED_PARAMETER
    dotted = parameter_path(list(path))
    exception = CODE_EXCEPTIONS.get((dotted, KEYWORD_FAMILY.get(keyword)))
    if exception:
        return exception
    leaf = [part for part in path if isinstance(part, str)][-1]
    return KEYWORD_PREFIX.get(keyword, "invalid") + leaf[0].upper() + leaf[1:]


def place_at(task: dict, path: Path, value: Any) -> None:
    """Set ``value`` at ``path``, creating the objects and arrays on the way."""
    node: Any = task
    for part, following in zip(path, path[1:]):
        if isinstance(part, int):
            node.extend([None] * (part + 1 - len(node)))
        if not isinstance(node[part] if isinstance(part, int) else node.get(part), (dict, list)):
            node[part] = [] if isinstance(following, int) else {}
        node = node[part]
    if isinstance(path[-1], int):
        node.extend([None] * (path[-1] + 1 - len(node)))
    node[path[-1]] = value


def remove_at(task: dict, path: Path) -> None:
    node: Any = task
    for part in path[:-1]:
        node = node.get(part, {}) if isinstance(node, dict) else node[part]
    node.pop(path[-1], None)


_WRONG_TYPED = {
    "string": st.one_of(st.integers(), st.booleans(), st.none(), st.just([])),
    "integer": st.one_of(st.text(max_size=5), st.booleans(), st.none(),
                         st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer())),
    "boolean": st.one_of(st.integers(), st.text(max_size=5), st.none()),
    "object": st.one_of(st.just([]), st.text(max_size=5), st.integers()),
    "array": st.one_of(st.just({}), st.text(max_size=5), st.integers()),
}
_EXTRA_NAMES = st.from_regex(r"[a-z][A-Za-z]{1,12}", fullmatch=True)
_AIR = st.from_regex(r"[a-z0-9]{1,8}:[a-z0-9]{1,4}@[0-9]{1,2}", fullmatch=True)


@dataclass(frozen=True)
class _Site:
    """A schema node inside a task, and what must be in place before it can be broken there."""

    path: Path
    node: dict
    setup: tuple[tuple[Path, dict], ...] = ()  # (path, schema) of valid values placed first


def _sites(node: dict, path: Path = (), setup: tuple = ()) -> list[_Site]:
    found = [_Site(path, node, setup)]
    for name, sub in node.get("properties", {}).items():
        found += _sites(sub, path + (name,), setup)
    items = node.get("items")
    if isinstance(items, dict):
        found += _sites(items, path + (0,), setup)
    for branch in node.get("anyOf", ()):
        if _is_object(branch):  # an object form of an item: break it inside a valid object
            inner = setup + ((path, branch),)
            found += [site for site in _sites(branch, path, inner) if site.path != path]
            found.append(_Site(path, branch, inner))
    for branch, condition in _conditional_branches(node, path):  # e.g. a delete's media, an upload's
        found += [site for site in _sites(branch, path, setup + condition) if site.path != path]
    return found


def _conditional_branches(node: dict, path: Path) -> list[tuple[dict, tuple[tuple[Path, dict], ...]]]:
    """(``then`` or ``else``, the values that select it) of a node whose ``if`` pins properties to
    constants: ``then`` with those constants, ``else`` with another value of each one's enum."""
    pinned = {name: sub["const"] for name, sub in node.get("if", {}).get("properties", {}).items() if "const" in sub}
    if not pinned:
        return []
    found = []
    if "then" in node:
        found.append((node["then"], tuple((path + (name,), {"const": value}) for name, value in pinned.items())))
    if "else" in node:
        others = {name: [v for v in node["properties"][name]["enum"] if v != value] for name, value in pinned.items()}
        found.append((node["else"], tuple((path + (name,), {"enum": values}) for name, values in others.items())))
    return found


def _context(path: Path) -> tuple[tuple[Path, dict], ...]:
    """Valid fields a site needs so that no profile rule fires (shotType needs a reference)."""
    needs = []
    for rule in model_profile()["rules"]:
        if rule["kind"] == "requiresAnyOf" and parameter_path(list(path)).startswith(rule["field"]):
            first = tuple(rule["anyOf"][0].split("."))
            needs.append((first, node_at(video_schema(), first)))
    return tuple(needs)


def _task_at_site(draw, base: st.SearchStrategy, site: _Site) -> dict:
    """A valid task with whatever the site needs to exist (its parents, the fields its rules need)."""
    task = copy.deepcopy(draw(base))
    for path, node in site.setup + _context(site.path):
        place_at(task, path, draw(values_of(node)))
    return task


def _breach_strategy(base: st.SearchStrategy, site: _Site, keyword: str, bad: st.SearchStrategy,
                     *, at: Path | None = None, remove: bool = False) -> Breaker:
    """Breaker for one keyword at one site: place the setup, then the bad value (or remove)."""
    target = at if at is not None else site.path

    @st.composite
    def breach(draw) -> Breach:
        task = _task_at_site(draw, base, site)
        if remove:
            remove_at(task, target)
        else:
            place_at(task, target, draw(bad))
        return Breach(rule, task, expected_code(keyword, target), parameter_path(list(target)))

    rule = f"{keyword} of {parameter_path(list(target)) or 'the task'}"
    return Breaker(rule, breach())


def _keyword_breakers(base: st.SearchStrategy, site: _Site, skip: frozenset[str]) -> list[Breaker]:
    node, path = site.node, site.path
    found = _value_breakers(base, site) if not path or path[0] not in skip else []
    for name in node.get("required", ()):
        found.append(_breach_strategy(base, site, "required", st.nothing(), at=path + (name,), remove=True))
    if node.get("additionalProperties") is False:
        known = set(node.get("properties", ()))
        found.append(_extra_property_breaker(base, site, _EXTRA_NAMES.filter(lambda name: name not in known)))
    return found


def _extra_property_breaker(base: st.SearchStrategy, site: _Site, names: st.SearchStrategy) -> Breaker:
    @st.composite
    def breach(draw) -> Breach:
        task = _task_at_site(draw, base, site)
        target = site.path + (draw(names),)
        place_at(task, target, draw(st.integers(0, 9)))
        return Breach(rule, task, UNSUPPORTED_PARAMETER, parameter_path(list(target)))

    rule = f"additionalProperties of {parameter_path(list(site.path)) or 'the task'}"
    return Breaker(rule, breach())


def _value_breakers(base: st.SearchStrategy, site: _Site) -> list[Breaker]:
    """Breakers that replace the site's value: type, enum/const, bounds, length, items, pattern."""
    node, path = site.node, site.path
    if not path or _is_object(node) and site.setup and site.setup[-1][0] == path:
        return []
    validator = SchemaValidator(node)
    declared = node.get("type")
    found = []
    if declared in _WRONG_TYPED and "enum" not in node and "const" not in node:
        only_type = _WRONG_TYPED[declared].filter(lambda v: _failing_keywords(validator, v) == {"type"})
        found.append(_breach_strategy(base, site, "type", only_type))
    if "enum" in node or "const" in node:
        allowed = node.get("enum", [node.get("const")])
        same_kind = st.text(max_size=8) if declared == "string" else st.one_of(st.text(max_size=8), st.integers())
        found.append(_breach_strategy(base, site, "enum" if "enum" in node else "const",
                                      same_kind.filter(lambda v: v not in allowed)))
    if "minimum" in node:
        found.append(_breach_strategy(base, site, "minimum", st.integers(max_value=node["minimum"] - 1)))
    if "maximum" in node:
        found.append(_breach_strategy(base, site, "maximum", st.integers(min_value=node["maximum"] + 1)))
    if node.get("minLength", 0) > 0:
        found.append(_breach_strategy(base, site, "minLength", st.text(max_size=node["minLength"] - 1)))
    if "maxLength" in node:
        loose = SchemaValidator({k: v for k, v in node.items() if k != "maxLength"})
        longer = values_of(node).map(lambda v: v + "x" * (node["maxLength"] + 1 - len(v)))
        found.append(_breach_strategy(base, site, "maxLength", longer.filter(loose.is_valid)))
    if node.get("minItems", 0) > 0:
        found.append(_breach_strategy(base, site, "minItems", st.just([])))
    if "maxItems" in node:
        too_many = st.lists(values_of(node["items"]), min_size=node["maxItems"] + 1, max_size=node["maxItems"] + 1)
        found.append(_breach_strategy(base, site, "maxItems", too_many))
    if "pattern" in node or "anyOf" in node:
        keyword = "pattern" if "pattern" in node else "anyOf"
        others = st.one_of(st.text(max_size=12), st.integers()) if keyword == "anyOf" else st.text(max_size=12)
        found.append(_breach_strategy(base, site, keyword, others.filter(lambda v: not validator.is_valid(v))))
    return found


def _failing_keywords(validator: SchemaValidator, value: Any) -> set[str]:
    return {error.validator for error in validator.iter_errors(value)}


def _model_breakers(base: st.SearchStrategy) -> list[Breaker]:
    """``model``: an AIR vidmock does not serve, or not an AIR at all (docs/errors.md)."""
    served = model_profile()["model"]

    def with_model(code: str, models: st.SearchStrategy) -> Breaker:
        def build(pair) -> Breach:
            task, model = pair
            return Breach(f"{code} model", {**task, "model": model}, code, "model")
        return Breaker(f"{code} model", st.tuples(base, models).map(build))

    not_air = st.text(max_size=12).filter(lambda v: not re.match(r"^[a-z0-9-]+:[A-Za-z0-9._-]+@", v))
    return [with_model("unknownModel", _AIR.filter(lambda v: v != served)),
            with_model("invalidModel", not_air)]


def _base_task(live: bool) -> st.SearchStrategy:
    """Text-to-video with no inputs, short enough to take references: every rule is broken on
    top of it."""
    cap = profile_rule("maxWhen", "duration")["max"]
    return video_tasks("textToVideo", live=live).map(lambda task: {**task, "duration": min(task.get("duration", cap), cap)})


def schema_breakers(task_type: str = VIDEO, *, live: bool = False) -> list[Breaker]:
    """One breaker per (schema keyword, parameter) of a task type."""
    if task_type == VIDEO:
        base = _base_task(live)
    elif task_type == MEDIA_STORAGE:
        upload = next(name for name in task_schema(task_type)["properties"]["operation"]["enum"]
                      if _inline_branches(_operation_branch(name)["properties"]["media"]))
        base = media_storage_tasks(upload, live=live)  # an else branch's site keeps it; a then's sets its own
    else:
        base = st.fixed_dictionaries({name: values_of(sub) for name, sub in task_schema(task_type)["properties"].items()
                                      if name in task_schema(task_type).get("required", ())})
    # taskType decides which schema applies at all; model has its own two codes.
    skip = frozenset({"taskType", "model"})
    breakers = [b for site in _sites(task_schema(task_type)) for b in _keyword_breakers(base, site, skip)]
    return breakers + (_model_breakers(base) if task_type == VIDEO else [])


# --- profile rules -------------------------------------------------------------------------------


def _dotted(field: str) -> Path:
    return tuple(field.split("."))


def _field_values(field: str, live: bool) -> st.SearchStrategy:
    if field == "inputs.frameImages":
        return st.lists(_frame_item("first", 0, live), min_size=1, max_size=1)
    node = node_at(video_schema(), _dotted(field))
    if node.get("type") == "array":
        item = _image_node(live) if field == "inputs.referenceImages" else _media_node(live)
        return st.lists(values_of(item), min_size=1, max_size=2)
    return values_of(node)


def _rule_breach(rule: dict, live: bool) -> st.SearchStrategy:
    """A task that breaks one profile rule, by its kind."""
    kind = rule["kind"]

    @st.composite
    def breach(draw) -> Breach:
        task = copy.deepcopy(draw(_base_task(live)))
        parameter: Any
        if kind == "requireAnyOf":
            for field in (f for group in rule["groups"] for f in group):
                remove_at(task, _dotted(field))
            parameter = [f for group in rule["groups"] for f in group]
        elif kind == "together":
            parameter = draw(st.sampled_from(rule["fields"]))
            remove_at(task, _dotted(parameter))
        elif kind == "mutuallyExclusive":
            for field in rule["fields"]:
                place_at(task, _dotted(field), draw(_field_values(field, live)))
            parameter = list(rule["fields"])
        elif kind == "requiredUnless":
            remove_at(task, _dotted(rule["field"]))
            parameter = rule["field"]
        elif kind == "maxWhen":
            trigger = draw(st.sampled_from(rule["when"]))
            place_at(task, _dotted(trigger), draw(_field_values(trigger, live)))
            top = node_at(video_schema(), _dotted(rule["field"])).get("maximum", rule["max"] + 5)
            place_at(task, _dotted(rule["field"]), draw(st.integers(rule["max"] + 1, top)))
            parameter = rule["field"]
        elif kind == "requiresAnyOf":
            place_at(task, _dotted(rule["field"]), draw(_field_values(rule["field"], live)))
            parameter = list(rule["anyOf"])
        elif kind == "allowedSize":
            sizes = {(w, h) for w, h, _ in allowed_sizes()}
            positive = st.integers(1, 4096)
            task["width"], task["height"] = draw(st.tuples(positive, positive).filter(lambda s: s not in sizes))
            parameter = ["width", "height"]
        elif kind == "distinctFramePositions":
            position = draw(st.sampled_from(["first", "last"]))
            items = [draw(_frame_item(position, i, live)) for i in range(2)]
            if frame_positions(items) != [position, position]:
                items = [{"image": draw(values_of(_image_node(live))), "frame": draw(st.sampled_from(_frame_values(position)))}
                         for _ in range(2)]
            task["inputs"] = {"frameImages": items}
            parameter = "inputs.frameImages"
        else:
            raise ValueError(f"no breaker for profile rule kind {kind!r}")
        return Breach(f"profile rule {rule['id']}", task, rule["code"], parameter)

    return breach()


def profile_breakers(*, live: bool = False) -> list[Breaker]:
    """One breaker per rule of the model profile."""
    return [Breaker(f"profile rule {rule['id']}", _rule_breach(rule, live)) for rule in model_profile()["rules"]]


def all_breakers(*, live: bool = False) -> list[Breaker]:
    others = [b for task_type in (TaskType.GET_RESPONSE, TaskType.GET_TASK_DETAILS, MEDIA_STORAGE) for b in schema_breakers(task_type, live=live)]
    return schema_breakers(live=live) + others + profile_breakers(live=live)


def invalid_tasks(*, live: bool = False) -> st.SearchStrategy:
    """Any task that breaks exactly one rule (a ``Breach``)."""
    return st.one_of(*(breaker.breaches for breaker in all_breakers(live=live)))

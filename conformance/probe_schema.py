"""Runware's published request schema for a model, held against vidmock's ``schemas/`` and profile.

Runware serves each model's request schema, keyless and free, at
``<registry>/resolve/<AIR>`` as ``{"requestSchema": {...}, "documentation": ...}`` (what the
official SDKs compile when asked to validate), and the list of models at ``<registry>/registry.json``
(``{"models": {<AIR>: {"taskType": ..., ...}}}``). Both sides are normalised the same way before
they are walked together: ``$ref``s followed (the published document's own ``#/...`` pointers, and
documents on the registry's own host, fetched; vidmock's shared definitions are inlined by
``mockserver.contract``), ``allOf`` merged, annotations
(titles, descriptions, examples) dropped; vidmock's side also carries what its model profile says
of a field (the sizes' widths and heights, the resolution classes). Every difference is a
``SchemaDifference`` at a JSON Pointer into the task schema, with both sides' fragments.
"""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import aiohttp

from mockserver.contract import DEFAULT_MODEL, model_profile, task_schema
from mockserver.contract.vocabulary import TaskType
from mockserver.traffic.redaction import redact_url

DEFAULT_SCHEMAS_URL = "https://schemas.runware.ai"
TIMEOUT = 30.0
ANNOTATIONS = frozenset({"title", "description", "$comment", "examples", "$id", "$schema", "$defs", "definitions",
                         "readOnly", "writeOnly", "deprecated", "documentation"})
COMPARED = ("type", "const", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
            "minLength", "maxLength", "pattern", "format", "minItems", "maxItems", "uniqueItems", "default",
            "required", "additionalProperties", "$ref")  # a $ref left: one not followed (another host)
UNORDERED = frozenset({"type", "enum", "required"})
MAX_DEPTH = 40  # a cycle of $refs stops here instead of looping
MAX_DOCUMENTS = 20  # referenced documents fetched from the registry, at most


class SchemaUnavailable(Exception):
    """The registry could not be read (no answer, not JSON, no requestSchema)."""


@dataclass(frozen=True)
class SchemaDifference:
    path: str  # JSON Pointer into the task schema, e.g. /properties/duration/maximum
    upstream: Any  # the published fragment (None: absent)
    vidmock: Any  # vidmock's fragment (None: absent)
    message: str


async def published_differences(session: aiohttp.ClientSession, base_url: str,
                                model: str = DEFAULT_MODEL) -> list[SchemaDifference]:
    """Every difference between the registry's schema for ``model`` and vidmock's."""
    base = base_url.rstrip("/")
    registry = await _get_json(session, f"{base}/registry.json")
    found = []
    listed = registry.get("models", {}).get(model) if isinstance(registry.get("models"), dict) else None
    if listed is None:
        found.append(SchemaDifference(f"/registry.json/models/{model}", None, {"taskType": TaskType.VIDEO_INFERENCE},
                                      f"The registry does not list {model}, which vidmock serves."))
    elif isinstance(listed, dict) and listed.get("taskType") not in (None, TaskType.VIDEO_INFERENCE):
        found.append(SchemaDifference(f"/registry.json/models/{model}/taskType", listed.get("taskType"),
                                      TaskType.VIDEO_INFERENCE, f"The registry files {model} under another taskType."))
    resolved = await _get_json(session, f"{base}/resolve/{quote(model, safe='')}", missing_ok=True)
    if resolved is None:
        return found + [SchemaDifference(f"/resolve/{model}", None, {"model": model},
                                         f"The registry has no schema for {model} (404).")]
    published = resolved.get("requestSchema")
    if not isinstance(published, dict):
        raise SchemaUnavailable(f"{redact_url(base)}/resolve/{model} holds no requestSchema object")
    resolve_url = f"{base}/resolve/{quote(model, safe='')}"
    documents = {resolve_url: published}
    await _fetch_references(session, published, resolve_url, base, documents)
    theirs = normalise(published, documents, resolve_url)
    ours = normalise(vidmock_schema(model), {"": vidmock_schema(model)}, "")
    return found + compare(theirs, ours)


def vidmock_schema(model: str = DEFAULT_MODEL) -> dict:
    """The videoInference schema with what the model profile adds to single fields."""
    ours = copy.deepcopy(task_schema(TaskType.VIDEO_INFERENCE))
    profile = model_profile(model)
    sizes = [size for sizes in profile["resolutions"].values() for size in sizes]
    properties = ours["properties"]
    properties["width"]["enum"] = sorted({w for w, _ in sizes})
    properties["height"]["enum"] = sorted({h for _, h in sizes})
    properties["resolution"]["enum"] = list(profile["resolutions"])
    return ours


def normalise(node: Any, documents: dict[str, Any], base: str, depth: int = 0) -> Any:
    """``node`` (of the document at ``base``) with ``$ref``s followed, ``allOf`` merged and
    annotations dropped. ``documents`` holds every document a reference may point into, by URL."""
    if isinstance(node, list):
        return [normalise(item, documents, base, depth) for item in node]
    if not isinstance(node, dict):
        return node
    if depth > MAX_DEPTH:
        return {"$ref": "(cycle)"}
    ref = node.get("$ref")
    if isinstance(ref, str):
        url, _, pointer = urljoin(base, ref).partition("#") if base else ("", "", ref.partition("#")[2])
        target = _pointer(documents.get(url or base), pointer)
        if target is not None:
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return normalise({**target, **rest}, documents, url or base, depth + 1)
    result = {key: normalise(value, documents, base, depth) for key, value in node.items()
              if key not in ANNOTATIONS and not key.startswith("x-") and key != "allOf"}
    for part in node.get("allOf", ()):
        merged = normalise(part, documents, base, depth + 1)
        if not isinstance(merged, dict):
            continue
        for key, value in merged.items():
            if key == "properties":
                result["properties"] = {**value, **result.get("properties", {})}
            elif key == "required":
                result["required"] = sorted(set(result.get("required", [])) | set(value))
            else:
                result.setdefault(key, value)
    return result


async def _fetch_references(session: aiohttp.ClientSession, document: Any, url: str, registry: str,
                            documents: dict[str, Any]) -> None:
    """Fetch the documents ``document`` refers to on the registry's own host (never elsewhere),
    and theirs, up to ``MAX_DOCUMENTS``."""
    for ref in _references(document):
        target = urljoin(url, ref).partition("#")[0]
        if not target or target in documents or len(documents) >= MAX_DOCUMENTS:
            continue
        if urlsplit(target).netloc != urlsplit(registry).netloc:
            continue  # left as a $ref: a difference the comparison shows
        documents[target] = await _get_json(session, target)
        await _fetch_references(session, documents[target], target, registry, documents)


def _references(node: Any) -> list[str]:
    if isinstance(node, list):
        return [ref for item in node for ref in _references(item)]
    if not isinstance(node, dict):
        return []
    own = [node["$ref"]] if isinstance(node.get("$ref"), str) and not node["$ref"].startswith("#") else []
    return own + [ref for value in node.values() for ref in _references(value)]


def compare(theirs: dict, ours: dict, path: str = "") -> list[SchemaDifference]:
    """The differences of two normalised schema nodes, keyword by keyword, then member by member."""
    found = []
    for keyword in COMPARED:
        a, b = theirs.get(keyword), ours.get(keyword)
        if keyword == "additionalProperties" and isinstance(a, dict) and isinstance(b, dict):
            found += compare(a, b, f"{path}/additionalProperties")
            continue
        if _canonical(keyword, a) != _canonical(keyword, b):
            found.append(SchemaDifference(f"{path}/{keyword}", a, b, _say(path, keyword, a, b)))
    for keyword in ("properties", "patternProperties"):
        names = {**theirs.get(keyword, {}), **ours.get(keyword, {})}
        for name in names:
            a, b = theirs.get(keyword, {}).get(name), ours.get(keyword, {}).get(name)
            where = f"{path}/{keyword}/{_escape(name)}"
            if a is None or b is None:
                side = "the published schema" if b is None else "vidmock"
                found.append(SchemaDifference(where, a, b, f"{_field(where)}: only {side} has it."))
            else:
                found += compare(a, b, where)
    if isinstance(theirs.get("items"), dict) and isinstance(ours.get("items"), dict):
        found += compare(theirs["items"], ours["items"], f"{path}/items")
    elif _canonical("items", theirs.get("items")) != _canonical("items", ours.get("items")):
        found.append(SchemaDifference(f"{path}/items", theirs.get("items"), ours.get("items"),
                                      f"{_field(path)}: the items differ."))
    for keyword in ("anyOf", "oneOf"):
        a, b = theirs.get(keyword), ours.get(keyword)
        if _branches(a) != _branches(b):
            found.append(SchemaDifference(f"{path}/{keyword}", a, b, f"{_field(path)}: the {keyword} forms differ."))
    return found


def _canonical(keyword: str, value: Any) -> Any:
    if value is None:
        return None
    if keyword in UNORDERED:
        values = value if isinstance(value, list) else [value]
        return sorted(json.dumps(v, sort_keys=True) for v in values)
    return json.dumps(value, sort_keys=True)


def _branches(value: Any) -> Any:
    return None if value is None else sorted(json.dumps(branch, sort_keys=True) for branch in value)


def _say(path: str, keyword: str, theirs: Any, ours: Any) -> str:
    def shown(value: Any) -> str:
        return "absent" if value is None else json.dumps(value)
    return f"{_field(path)}: {keyword} is {shown(theirs)} in the published schema, {shown(ours)} in vidmock's."


def _field(path: str) -> str:
    """A JSON Pointer as a parameter path: /properties/settings/properties/shotType -> settings.shotType."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/") if p]
    names = [parts[i + 1] for i, part in enumerate(parts[:-1]) if part in ("properties", "patternProperties")]
    return ".".join(names) or "the task"


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _pointer(document: Any, pointer: str) -> Any:
    if document is None:
        return None
    node: Any = document
    for part in [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/") if p]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


async def _get_json(session: aiohttp.ClientSession, url: str, *, missing_ok: bool = False) -> Any:
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as response:
            if response.status == 404 and missing_ok:
                return None
            text = await response.text()
            if response.status != 200:
                raise SchemaUnavailable(f"{redact_url(url)} answered HTTP {response.status}")
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        raise SchemaUnavailable(f"{redact_url(url)} did not answer ({type(exc).__name__})") from None
    try:
        body = json.loads(text)
    except ValueError:
        raise SchemaUnavailable(f"{redact_url(url)} did not answer with JSON") from None
    if not isinstance(body, dict):
        raise SchemaUnavailable(f"{redact_url(url)} did not answer with a JSON object")
    return body
